# Shared by route-existing-hub.ps1 (postprovision) and unroute-existing-hub.ps1 (predown), the
# Windows twins of the .sh hooks: dot-sourced, not run. See existing-hub.sh for what they do and
# why. Here az's JSON is read with ConvertFrom-Json rather than --query, which spares JMESPath's
# quotes and pipes the trip through az.cmd.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Write-Certfleet([string]$Message) { Write-Host "certfleet: $Message" }

function Get-Setting([string]$Name, [string]$Default = '') {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($value)) { return $Default }
  return $value
}

function Get-RequiredSetting([string]$Name) {
  $value = Get-Setting $Name
  if ([string]::IsNullOrEmpty($value)) { throw "certfleet: $Name is not set: run azd provision first" }
  return $value
}

# A property path of an object from ConvertFrom-Json, or $null where any part is missing (strict
# mode throws on a missing property).
function Get-Field($Object, [string]$Path) {
  $value = $Object
  foreach ($part in $Path.Split('.')) {
    if ($null -eq $value) { return $null }
    $property = $value.PSObject.Properties[$part]
    if ($null -eq $property) { return $null }
    $value = $property.Value
  }
  return $value
}

# An Event Hubs namespace URI as the hub may report it (any case, a trailing slash or not).
function Get-NormalUri([string]$Uri) { return $Uri.ToLowerInvariant().TrimEnd('/') }

$script:CertfleetSubscription = Get-Setting 'AZURE_SUBSCRIPTION_ID'
$script:CertfleetErrorFile = [System.IO.Path]::GetTempFileName()

# Runs az, naming the environment's subscription on every call (never `az account set`, which
# would change the default subscription of whoever runs azd).
function Invoke-AzRaw([string[]]$Arguments, [switch]$NoSubscription) {
  $all = @($Arguments)
  if ($script:CertfleetSubscription -and -not $NoSubscription) {
    $all += @('--subscription', $script:CertfleetSubscription)
  }
  $output = & az @all 2>$script:CertfleetErrorFile
  $ok = $LASTEXITCODE -eq 0
  $err = Get-Content -Raw -Path $script:CertfleetErrorFile -ErrorAction SilentlyContinue
  if ($null -eq $err) { $err = '' }
  return [pscustomobject]@{ Ok = $ok; Output = (@($output) -join "`n"); Error = $err.Trim() }
}

# Runs az; on failure stops, naming what failed and what az said.
function Invoke-Az([string]$What, [string[]]$Arguments, [switch]$NoSubscription) {
  $result = Invoke-AzRaw $Arguments -NoSubscription:$NoSubscription
  if (-not $result.Ok) { throw "certfleet: $What failed: $($result.Error)" }
  return $result.Output
}

# az's JSON output as objects; a list comes back as an array, even of one or none.
function Invoke-AzJson([string]$What, [string[]]$Arguments) {
  $text = Invoke-Az $What ($Arguments + @('--output', 'json'))
  if ([string]::IsNullOrWhiteSpace($text)) { return , @() }
  return , @($text | ConvertFrom-Json)
}

# The hub failing to reach the Event Hub as the routing identity while its role propagates:
# retried. The caller's own refusals, a hub not found and bad arguments: not (existing-hub.sh).
function Test-PropagationError([string]$Text) {
  if ($Text -match 'AuthorizationFailed|does not have authorization|AuthenticationToken|AADSTS|az login|not found|unrecognized arguments') {
    return $false
  }
  return $Text -match "claim\(s\) are required|unauthori[sz]ed"
}

function Invoke-AzRetryingPropagation([string]$What, [string[]]$Arguments) {
  $attempts = 6
  for ($attempt = 1; ; $attempt++) {
    $result = Invoke-AzRaw ($Arguments + @('--only-show-errors', '--output', 'none'))
    if ($result.Ok) { return }
    if (-not (Test-PropagationError $result.Error)) { throw "certfleet: $What failed: $($result.Error)" }
    if ($attempt -ge $attempts) {
      throw "certfleet: $What failed $attempt times: $hub could not send to the Event Hub $eventHub as the routing identity, whose Azure Event Hubs Data Sender role may still be propagating. Run 'azd hooks run postprovision' again in a few minutes. Last error: $($result.Error)"
    }
    Write-Certfleet "$What was refused: $hub cannot send to $eventHub as the routing identity yet (attempt $attempt of $attempts); waiting 60 s for its role to propagate."
    Start-Sleep -Seconds 60
  }
}

function Assert-Az([string]$Verb, [string]$Hook) {
  if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw "certfleet: the Azure CLI (az) is needed to $Verb an existing IoT hub; install it, sign in with az login, then run: azd hooks run $Hook"
  }
  Invoke-Az 'installing the azure-iot extension of the Azure CLI' @('extension', 'add', '--name', 'azure-iot', '--upgrade', '--only-show-errors') -NoSubscription | Out-Null
}

# The Event Hubs endpoint of that name on the hub, or $null.
function Get-Endpoint([string]$Name) {
  $endpoints = Invoke-AzJson "reading the endpoints of $hub" @('iot', 'hub', 'message-endpoint', 'list', '--hub-name', $hub, '--resource-group', $hubGroup, '--endpoint-type', 'eventhub')
  return $endpoints | Where-Object { (Get-Field $_ 'name') -eq $Name } | Select-Object -First 1
}

# The route of that name on the hub, or $null.
function Get-Route([string]$Name) {
  $routes = Invoke-AzJson "reading the routes of $hub" @('iot', 'hub', 'message-route', 'list', '--hub-name', $hub, '--resource-group', $hubGroup)
  return $routes | Where-Object { (Get-Field $_ 'name') -eq $Name } | Select-Object -First 1
}

function Test-SendsToOurEventHub($Endpoint) {
  return ((Get-NormalUri ([string](Get-Field $Endpoint 'endpointUri'))) -eq (Get-NormalUri "sb://$namespaceHost")) -and
    ([string](Get-Field $Endpoint 'entityPath') -ieq $eventHub)
}

# Removes the routes, then the endpoint, only when the endpoint sends to this environment's Event
# Hub and each route sends to that endpoint alone; anything else by those names is left alone.
function Remove-Routing([string]$EndpointName, [string[]]$RouteNames) {
  if (-not $EndpointName) { throw 'certfleet: no endpoint name to remove' }
  $found = Get-Endpoint $EndpointName
  if ($null -eq $found) {
    Write-Certfleet "$hub has no endpoint $EndpointName."
    return
  }
  if (-not (Test-SendsToOurEventHub $found)) {
    Write-Certfleet "the endpoint $EndpointName on $hub sends to $(Get-Field $found 'endpointUri') $(Get-Field $found 'entityPath'), not to this environment's Event Hub: left as it is."
    return
  }
  foreach ($routeName in $RouteNames) {
    # An empty name would make `message-route delete` remove every route of the hub.
    if (-not $routeName) { throw 'certfleet: no route name to remove' }
    $route = Get-Route $routeName
    if ($null -eq $route) { continue }
    $targets = @(Get-Field $route 'endpointNames') -join ','
    if ($targets -ine $EndpointName) {
      Write-Certfleet "the route $routeName on $hub sends to $targets, not to ${EndpointName}: left as it is."
      continue
    }
    Invoke-Az "removing the route $routeName from $hub" @('iot', 'hub', 'message-route', 'delete', '--hub-name', $hub, '--resource-group', $hubGroup, '--route-name', $routeName, '--yes', '--only-show-errors', '--output', 'none') | Out-Null
    Write-Certfleet "removed the route $routeName from $hub."
  }
  Invoke-Az "removing the endpoint $EndpointName from $hub" @('iot', 'hub', 'message-endpoint', 'delete', '--hub-name', $hub, '--resource-group', $hubGroup, '--endpoint-name', $EndpointName, '--endpoint-type', 'eventhub', '--yes', '--only-show-errors', '--output', 'none') | Out-Null
  Write-Certfleet "removed the endpoint $EndpointName from $hub."
}

# Whether the hub holds the routing identity (resource ids compared without regard to case).
function Test-HubHasIdentity {
  $shown = Invoke-AzJson "reading the identities of $hub" @('iot', 'hub', 'identity', 'show', '--name', $hub, '--resource-group', $hubGroup)
  $assigned = Get-Field ($shown | Select-Object -First 1) 'userAssignedIdentities'
  if ($null -eq $assigned) { return $false }
  return [bool]($assigned.PSObject.Properties.Name | Where-Object { $_ -ieq $identity })
}

# The names an earlier release gave its endpoint and routes on an existing hub.
$legacyEndpoint = 'certfleet-events'
$legacyRoutes = @('certfleet-twin-changes', 'certfleet-device-lifecycle', 'certfleet-connection-state')

function Read-Settings {
  $script:hub = Get-RequiredSetting 'AZURE_IOTHUB_NAME'
  $script:hubGroup = Get-RequiredSetting 'AZURE_IOTHUB_RESOURCE_GROUP'
  $script:identity = Get-RequiredSetting 'AZURE_ROUTING_IDENTITY_ID'
  $script:namespaceHost = Get-RequiredSetting 'AZURE_EVENTHUB_NAMESPACE_HOST'
  $script:eventHub = Get-RequiredSetting 'CERTFLEET_EVENTHUB_NAME'
  $script:eventHubGroup = Get-RequiredSetting 'AZURE_RESOURCE_GROUP'
  $script:endpoint = Get-RequiredSetting 'AZURE_ROUTING_ENDPOINT_NAME'
  $script:twinRoute = Get-RequiredSetting 'AZURE_ROUTE_TWIN_CHANGES_NAME'
  $script:lifecycleRoute = Get-RequiredSetting 'AZURE_ROUTE_DEVICE_LIFECYCLE_NAME'
  $script:connectionRoute = Get-RequiredSetting 'AZURE_ROUTE_CONNECTION_STATE_NAME'
}

$certfleetMode = Get-Setting 'IOTHUB_MODE' (Get-Setting 'AZURE_IOTHUB_MODE' 'create')
