# azd postprovision hook (azure.yaml), for Windows: the same steps as route-existing-hub.sh.
# With IOTHUB_MODE=existing, routes an IoT hub the template did not create to this environment's
# Event Hub: the routing identity on the hub, an identity-based Event Hubs endpoint and routes of
# TwinChangeEvents, DeviceLifecycleEvents and DeviceConnectionStateEvents, all under this
# environment's names. What exists is compared with what the environment needs and updated when
# it differs; an earlier release's endpoint and routes sending to this Event Hub are removed.
# Nothing else on the hub is changed. Safe to run again: `azd hooks run postprovision`.
. (Join-Path $PSScriptRoot 'existing-hub.ps1')

if ($certfleetMode -ne 'existing') {
  Write-Certfleet "IOTHUB_MODE is $certfleetMode; the template configured the hub's routing itself."
  exit 0
}

Read-Settings
Assert-Az 'route' 'postprovision'

# 1. The routing identity on the hub.
if (Test-HubHasIdentity) {
  Write-Certfleet "$hub already has the routing identity."
} else {
  Invoke-Az "adding the routing identity to $hub" @('iot', 'hub', 'identity', 'assign', '--name', $hub, '--resource-group', $hubGroup, '--user-assigned', $identity, '--only-show-errors', '--output', 'none') | Out-Null
  Write-Certfleet "added the routing identity to $hub."
}

# 2. The identity-based Event Hubs endpoint, retried while the Data Sender role propagates.
$endpointUri = "sb://$namespaceHost"
$endpointArguments = @('--hub-name', $hub, '--resource-group', $hubGroup, '--endpoint-name', $endpoint, '--endpoint-resource-group', $eventHubGroup, '--endpoint-uri', $endpointUri, '--entity-path', $eventHub, '--identity', $identity)
$found = Get-Endpoint $endpoint
if ($null -eq $found) {
  Invoke-AzRetryingPropagation "adding the endpoint $endpoint to $hub" (@('iot', 'hub', 'message-endpoint', 'create', 'eventhub') + $endpointArguments)
  Write-Certfleet "added the endpoint $endpoint to $hub."
} else {
  $differences = @()
  if ((Get-NormalUri ([string](Get-Field $found 'endpointUri'))) -ne (Get-NormalUri $endpointUri)) {
    $differences += "endpointUri is $(Get-Field $found 'endpointUri'), not $endpointUri"
  }
  if ([string](Get-Field $found 'entityPath') -ine $eventHub) {
    $differences += "entityPath is $(Get-Field $found 'entityPath'), not $eventHub"
  }
  if ([string](Get-Field $found 'authenticationType') -ine 'identityBased') {
    $differences += "authenticationType is $(Get-Field $found 'authenticationType'), not identityBased"
  }
  $usedIdentity = [string](Get-Field $found 'identity.userAssignedIdentity')
  if ($usedIdentity -ine $identity) {
    $differences += "identity is $(if ($usedIdentity) { $usedIdentity } else { 'none' }), not the routing identity $identity"
  }
  if ($differences.Count -eq 0) {
    Write-Certfleet "$hub already has the endpoint $endpoint as this environment needs it."
  } else {
    Write-Certfleet "the endpoint $endpoint on $hub differs from what this environment needs: $($differences -join '; '); updating it."
    Invoke-AzRetryingPropagation "updating the endpoint $endpoint on $hub" (@('iot', 'hub', 'message-endpoint', 'update', 'eventhub') + $endpointArguments)
    Write-Certfleet "updated the endpoint $endpoint on $hub."
  }
}

# 3. The routes, one per source certfleet reads, every event of each.
$routes = @(
  @{ Name = $twinRoute; Source = 'twinchangeevents' },
  @{ Name = $lifecycleRoute; Source = 'devicelifecycleevents' },
  @{ Name = $connectionRoute; Source = 'deviceconnectionstateevents' }
)
foreach ($route in $routes) {
  $name = $route.Name
  $source = $route.Source
  $routeArguments = @('--hub-name', $hub, '--resource-group', $hubGroup, '--route-name', $name, '--source-type', $source, '--endpoint-name', $endpoint, '--condition', 'true', '--enabled', 'true')
  $found = Get-Route $name
  if ($null -eq $found) {
    Invoke-AzRetryingPropagation "adding the route $name to $hub" (@('iot', 'hub', 'message-route', 'create') + $routeArguments)
    Write-Certfleet "added the route $name ($source) to $hub."
    continue
  }
  $differences = @()
  if ([string](Get-Field $found 'source') -ine $source) {
    $differences += "source is $(Get-Field $found 'source'), not $source"
  }
  $targets = @(Get-Field $found 'endpointNames') -join ','
  if ($targets -ine $endpoint) { $differences += "endpoints are $targets, not $endpoint" }
  if ([string](Get-Field $found 'condition') -ine 'true') {
    $differences += "condition is $(Get-Field $found 'condition'), not true"
  }
  if (-not [bool](Get-Field $found 'isEnabled')) { $differences += 'it is disabled' }
  if ($differences.Count -eq 0) {
    Write-Certfleet "$hub already has the route $name as this environment needs it."
  } else {
    Write-Certfleet "the route $name on $hub differs from what this environment needs: $($differences -join '; '); updating it."
    Invoke-AzRetryingPropagation "updating the route $name on $hub" (@('iot', 'hub', 'message-route', 'update') + $routeArguments)
    Write-Certfleet "updated the route $name on $hub."
  }
}

# 4. What an earlier release added under names shared by every environment, once it sends to
# this environment's Event Hub: its events now arrive through the routes above.
if ($endpoint -ine $legacyEndpoint -and $null -ne (Get-Endpoint $legacyEndpoint)) {
  Remove-Routing $legacyEndpoint $legacyRoutes
}
