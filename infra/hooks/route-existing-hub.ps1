# azd postprovision hook (azure.yaml), for Windows: the same steps as route-existing-hub.sh.
# With IOTHUB_MODE=existing, wires an IoT hub the template did not create to certfleet's Event
# Hub, adding only what is missing: the routing identity on the hub, an identity-based Event Hubs
# endpoint, and routes of TwinChangeEvents, DeviceLifecycleEvents and DeviceConnectionStateEvents.
# Existing endpoints, routes and the fallback route are left as they are. Safe to run again:
# `azd hooks run postprovision`. Needs the Azure CLI signed in (`az login`) and its azure-iot
# extension (message-endpoint and message-route replace the deprecated core routing commands).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Get-Setting([string]$Name, [string]$Default = $null) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($value)) { return $Default }
  return $value
}

function Get-RequiredSetting([string]$Name) {
  $value = Get-Setting $Name
  if ([string]::IsNullOrEmpty($value)) { throw "certfleet: $Name is not set: run azd provision first" }
  return $value
}

# Runs az; stops on a non-zero exit code (PowerShell does not for native commands).
function Invoke-Az {
  $output = & az @args
  if ($LASTEXITCODE -ne 0) { throw "certfleet: az $($args -join ' ') failed ($LASTEXITCODE)" }
  return $output
}

$mode = Get-Setting 'IOTHUB_MODE' (Get-Setting 'AZURE_IOTHUB_MODE' 'create')
if ($mode -ne 'existing') {
  Write-Host "certfleet: IOTHUB_MODE is $mode; the template configured the hub's routing itself."
  exit 0
}

$hub = Get-RequiredSetting 'AZURE_IOTHUB_NAME'
$hubGroup = Get-RequiredSetting 'AZURE_IOTHUB_RESOURCE_GROUP'
$identity = Get-RequiredSetting 'AZURE_ROUTING_IDENTITY_ID'
$endpoint = Get-Setting 'AZURE_ROUTING_ENDPOINT_NAME' 'certfleet-events'
$namespaceHost = Get-RequiredSetting 'AZURE_EVENTHUB_NAMESPACE_HOST'
$eventHub = Get-RequiredSetting 'CERTFLEET_EVENTHUB_NAME'
$eventHubGroup = Get-RequiredSetting 'AZURE_RESOURCE_GROUP'

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  throw 'certfleet: the Azure CLI (az) is needed to route an existing IoT hub; install it, sign in with az login, then run: azd hooks run postprovision'
}
$subscription = Get-Setting 'AZURE_SUBSCRIPTION_ID'
if ($subscription) { Invoke-Az account set --subscription $subscription | Out-Null }
Invoke-Az extension add --name azure-iot --upgrade --only-show-errors | Out-Null

# 1. The routing identity on the hub (resource ids compared without regard to case).
$assigned = @(Invoke-Az iot hub identity show --name $hub --resource-group $hubGroup `
    --query 'keys(userAssignedIdentities || `{}`)' --output tsv)
if ($assigned | Where-Object { $_ -ieq $identity }) {
  Write-Host "certfleet: $hub already has the routing identity."
} else {
  Write-Host "certfleet: adding the routing identity to $hub."
  Invoke-Az iot hub identity assign --name $hub --resource-group $hubGroup `
    --user-assigned $identity --only-show-errors --output none | Out-Null
}

# 2. The identity-based Event Hubs endpoint, retried while the Data Sender role propagates.
$found = Invoke-Az iot hub message-endpoint list --hub-name $hub --resource-group $hubGroup `
  --endpoint-type eventhub --query "[?name=='$endpoint'].name" --output tsv
if ($found) {
  Write-Host "certfleet: $hub already has the endpoint $endpoint."
} else {
  $attempt = 1
  while ($true) {
    & az iot hub message-endpoint create eventhub --hub-name $hub --resource-group $hubGroup `
      --endpoint-name $endpoint --endpoint-resource-group $eventHubGroup `
      --endpoint-uri "sb://$namespaceHost" --entity-path $eventHub `
      --identity $identity --only-show-errors --output none
    if ($LASTEXITCODE -eq 0) { break }
    if ($attempt -ge 6) {
      throw "certfleet: could not add the endpoint $endpoint to $hub; run azd hooks run postprovision again later."
    }
    Write-Host "certfleet: the endpoint was refused (attempt $attempt); waiting 60 s for the role to propagate."
    $attempt += 1
    Start-Sleep -Seconds 60
  }
  Write-Host "certfleet: added the endpoint $endpoint to $hub."
}

# 3. The routes, one per source certfleet reads, every event of each.
$routes = @(
  @{ Name = 'certfleet-twin-changes'; Source = 'twinchangeevents' },
  @{ Name = 'certfleet-device-lifecycle'; Source = 'devicelifecycleevents' },
  @{ Name = 'certfleet-connection-state'; Source = 'deviceconnectionstateevents' }
)
foreach ($route in $routes) {
  $name = $route.Name
  $found = Invoke-Az iot hub message-route list --hub-name $hub --resource-group $hubGroup `
    --query "[?name=='$name'].name" --output tsv
  if ($found) {
    Write-Host "certfleet: $hub already has the route $name."
  } else {
    Invoke-Az iot hub message-route create --hub-name $hub --resource-group $hubGroup `
      --route-name $name --source-type $route.Source --endpoint-name $endpoint `
      --condition true --enabled true --only-show-errors --output none | Out-Null
    Write-Host "certfleet: added the route $name ($($route.Source)) to $hub."
  }
}
