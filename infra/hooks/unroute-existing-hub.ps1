# azd predown hook (azure.yaml), for Windows: the same steps as unroute-existing-hub.sh. With
# IOTHUB_MODE=existing, takes this environment's routes, endpoint (and an earlier release's, when
# they send to this Event Hub) and routing identity off the IoT hub before `azd down` deletes the
# Event Hub and the identity they point to. Nothing else on the hub is changed. Safe to run again
# (`azd hooks run predown`); with IOTHUB_MODE=create, or a hub already gone, it does nothing.
. (Join-Path $PSScriptRoot 'existing-hub.ps1')

if ($certfleetMode -ne 'existing') {
  Write-Certfleet "IOTHUB_MODE is $certfleetMode; the hub goes with the resource group, nothing to take off it."
  exit 0
}
if (-not (Get-Setting 'AZURE_IOTHUB_NAME')) {
  Write-Certfleet 'this environment was never provisioned; nothing to take off an IoT hub.'
  exit 0
}

Read-Settings
Assert-Az 'unroute' 'predown'

$shown = Invoke-AzRaw @('iot', 'hub', 'show', '--name', $hub, '--resource-group', $hubGroup, '--output', 'none')
if (-not $shown.Ok) {
  if ($shown.Error -match 'not ?found') {
    Write-Certfleet "the IoT hub $hub is not in $hubGroup any more; nothing to take off it."
    exit 0
  }
  throw "certfleet: reading the IoT hub $hub failed: $($shown.Error)"
}

# This environment's routes and endpoint, then an earlier release's sending to this Event Hub.
Remove-Routing $endpoint @($twinRoute, $lifecycleRoute, $connectionRoute)
if ($endpoint -ine $legacyEndpoint -and $null -ne (Get-Endpoint $legacyEndpoint)) {
  Remove-Routing $legacyEndpoint $legacyRoutes
}

# The routing identity, last: the hub refuses to let go of an identity an endpoint still uses.
if (Test-HubHasIdentity) {
  Invoke-Az "removing the routing identity from $hub" @('iot', 'hub', 'identity', 'remove', '--name', $hub, '--resource-group', $hubGroup, '--user-assigned', $identity, '--only-show-errors', '--output', 'none') | Out-Null
  Write-Certfleet "removed the routing identity from $hub."
} else {
  Write-Certfleet "$hub does not hold the routing identity."
}
