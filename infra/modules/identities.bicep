// The two user-assigned managed identities: the Function app's, which every certfleet call to
// Azure uses (storage, Event Hubs, IoT Hub, Event Grid, Key Vault, Application Insights), and
// the IoT hub's routing identity, which only sends routed events to the Event Hub. Separate so
// that neither holds the other's rights.
param location string
param tags object
param appIdentityName string
param routingIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: appIdentityName
  location: location
  tags: tags
}

resource routingIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: routingIdentityName
  location: location
  tags: tags
}

output appIdentityId string = appIdentity.id
output appPrincipalId string = appIdentity.properties.principalId
output appClientId string = appIdentity.properties.clientId
output routingIdentityId string = routingIdentity.id
output routingPrincipalId string = routingIdentity.properties.principalId
