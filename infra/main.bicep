// certfleet in Azure, for `azd up` (docs/deploy.md): a Function app on Flex Consumption with one
// user-assigned identity and no secret anywhere, the storage it keeps its ledger, audit trail and
// reports in, the Event Hub IoT Hub routes twin, lifecycle and connection events to, an IoT hub
// (created here, or an existing one wired by the postprovision hook), an Event Grid topic for
// alerts, a Key Vault key that signs the audit checkpoints, and Azure Monitor alerts on the log
// lines certfleet writes.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; the resource group is rg-<environmentName> and every resource name carries a hash of it.')
param environmentName string

@minLength(1)
@description('Region of every resource. Flex Consumption is not in every region: az functionapp list-flexconsumption-locations lists them.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd (AZURE_PRINCIPAL_ID). Given read access for operations: Storage Blob and Table Data Reader on the fleet storage, Key Vault Reader on the vault. Empty: no access granted.')
param principalId string = ''

@description('What principalId is: User when a person runs azd, ServicePrincipal in a pipeline (AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('create: a new IoT hub with its routes to certfleet. existing: an IoT hub you already have; the template grants roles on it and the postprovision hook adds the routing (it never redeclares the hub, which would overwrite its routing).')
@allowed([
  'create'
  'existing'
])
param iotHubMode string = 'create'

@description('With iotHubMode existing: the IoT hub\'s name.')
param existingIotHubName string = ''

@description('With iotHubMode existing: the IoT hub\'s resource group, in this subscription.')
param existingIotHubResourceGroup string = ''

@description('With iotHubMode create: the hub\'s tier. Standard (or Free) only: the Basic tier has no twins and no direct methods, which certfleet needs.')
@allowed([
  'F1'
  'S1'
  'S2'
  'S3'
])
param iotHubSku string = 'S1'

@description('With iotHubMode create: IoT hub units (quotas such as twin queries and direct methods scale with them). F1 has exactly 1, S1 and S2 up to 200, S3 up to 10; the hub refuses more.')
@minValue(1)
@maxValue(200)
param iotHubUnits int = 1

@description('custom: a role of exactly the IoT Hub data actions certfleet needs (invoke direct methods, read twins, read statistics). builtin: IoT Hub Data Contributor, for tenants where custom roles are not allowed.')
@allowed([
  'custom'
  'builtin'
])
param iotHubRoleMode string = 'custom'

@minLength(3)
@description('Email address the Azure Monitor action group notifies (ALERT_EMAIL).')
param alertEmail string

@minLength(3)
@maxLength(31)
@description('CERTFLEET_STORAGE_PREFIX: prefix of certfleet\'s tables and containers; 3-31 lower-case letters and digits, starting with a letter.')
param storagePrefix string = 'certfleet'

@minValue(1)
@maxValue(146000)
@description('Days every blob of the audit, audit checkpoint and report containers stays unchangeable and undeletable (time-based retention, created unlocked). Default 2557 days: seven years, the longest common record-keeping period (SEC 17a-4 asks six).')
param auditRetentionDays int = 2557

@description('Set to true once you have locked the three retention policies (docs/deploy.md): a locked policy can only be extended, so the template stops declaring them.')
param immutabilityPoliciesLocked bool = false

@description('CERTFLEET_TRUST_BUNDLE: PEM roots and issuing CAs device chains must verify to (public certificates, not a secret; newlines may be written \\n). Empty: chains are not checked.')
param trustBundle string = ''

@minValue(40)
@maxValue(1000)
@description('Flex Consumption: the most instances the app scales out to.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption: memory of each instance, in MB.')
param instanceMemoryMB int = 2048

@allowed([
  '20'
  '22'
])
@description('Node.js version of the Function app (certfleet runs on 20 and 22).')
param nodeVersion string = '20'

@minValue(1)
@maxValue(32)
@description('Partitions of the Event Hub IoT Hub routes to (fixed once created on the Standard tier).')
param eventHubPartitionCount int = 4

@minValue(1)
@maxValue(7)
@description('Days the Event Hub keeps events (1 to 7 on the Standard tier): how far back a consumer group can be rewound.')
param eventHubRetentionDays int = 1

@minValue(30)
@maxValue(730)
@description('Days the Log Analytics workspace keeps logs, certfleet\'s CERTFLEET_AUDIT_CHECKPOINT lines included (90 days are included in the price of Application Insights data).')
param logRetentionDays int = 90

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
@description('Redundancy of the fleet storage account (ledger, audit trail, reports).')
param fleetStorageSku string = 'Standard_LRS'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-certfleet-${resourceToken}'
var createdIotHubName = 'iot-certfleet-${resourceToken}'
var iotHubName = iotHubMode == 'create' ? createdIotHubName : existingIotHubName
var resourceGroupName = 'rg-${environmentName}'
// Known when the deployment starts, as a module's scope must be.
var iotHubResourceGroupName = iotHubMode == 'create' ? resourceGroupName : existingIotHubResourceGroup
var eventHubNamespaceName = 'evhns-certfleet-${resourceToken}'
var eventHubName = 'iothub-events'
var consumerGroupName = 'certfleet'
// The routing endpoint and routes IoT Hub sends certfleet's events through. On a hub the template
// creates they are the hub's own; on an existing hub, which several environments (staging, prod)
// may share, each environment's carry its resource token so that neither overwrites or removes
// the other's (infra/hooks/route-existing-hub.sh adds them, unroute-existing-hub.sh removes them).
var routingNameSuffix = iotHubMode == 'create' ? '' : '-${resourceToken}'
var routingEndpointName = 'certfleet-events${routingNameSuffix}'
var twinChangesRouteName = 'certfleet-twin-changes${routingNameSuffix}'
var deviceLifecycleRouteName = 'certfleet-device-lifecycle${routingNameSuffix}'
var connectionStateRouteName = 'certfleet-connection-state${routingNameSuffix}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module identities 'modules/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    appIdentityName: 'id-certfleet-${resourceToken}'
    routingIdentityName: 'id-certfleet-routing-${resourceToken}'
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: 'log-certfleet-${resourceToken}'
    appInsightsName: 'appi-certfleet-${resourceToken}'
    logRetentionDays: logRetentionDays
    appPrincipalId: identities.outputs.appPrincipalId
  }
}

module hostStorage 'modules/hostStorage.bicep' = {
  name: 'hostStorage'
  scope: rg
  params: {
    location: location
    tags: tags
    accountName: 'sthost${resourceToken}'
    appPrincipalId: identities.outputs.appPrincipalId
  }
}

module fleetStorage 'modules/fleetStorage.bicep' = {
  name: 'fleetStorage'
  scope: rg
  params: {
    location: location
    tags: tags
    accountName: 'stfleet${resourceToken}'
    sku: fleetStorageSku
    storagePrefix: storagePrefix
    auditRetentionDays: auditRetentionDays
    immutabilityPoliciesLocked: immutabilityPoliciesLocked
    appPrincipalId: identities.outputs.appPrincipalId
    principalId: principalId
    principalType: principalType
  }
}

module eventHubs 'modules/eventHubs.bicep' = {
  name: 'eventHubs'
  scope: rg
  params: {
    location: location
    tags: tags
    namespaceName: eventHubNamespaceName
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    partitionCount: eventHubPartitionCount
    retentionDays: eventHubRetentionDays
    appPrincipalId: identities.outputs.appPrincipalId
    routingPrincipalId: identities.outputs.routingPrincipalId
  }
}

// Only in create mode: an existing hub is never redeclared (a deployment would replace its
// routing); infra/hooks/route-existing-hub.sh adds certfleet's endpoint and routes to it, and
// infra/hooks/unroute-existing-hub.sh removes them before `azd down`.
module iotHub 'modules/iotHub.bicep' = if (iotHubMode == 'create') {
  name: 'iotHub'
  scope: rg
  params: {
    location: location
    tags: tags
    iotHubName: createdIotHubName
    sku: iotHubSku
    units: iotHubUnits
    routingIdentityId: identities.outputs.routingIdentityId
    eventHubNamespaceName: eventHubNamespaceName
    eventHubName: eventHubName
    eventHubResourceGroup: rg.name
    routingEndpointName: routingEndpointName
    twinChangesRouteName: twinChangesRouteName
    deviceLifecycleRouteName: deviceLifecycleRouteName
    connectionStateRouteName: connectionStateRouteName
  }
  // The hub checks its identity-based endpoint when it is created: the routing identity must
  // already hold Azure Event Hubs Data Sender (granted in eventHubs.bicep).
  dependsOn: [
    eventHubs
  ]
}

module iotHubAccess 'modules/iotHubAccess.bicep' = {
  name: 'iotHubAccess'
  scope: resourceGroup(iotHubResourceGroupName)
  params: {
    iotHubName: iotHubName
    iotHubRoleMode: iotHubRoleMode
    appPrincipalId: identities.outputs.appPrincipalId
  }
  dependsOn: [
    iotHub
  ]
}

module eventGrid 'modules/eventGrid.bicep' = {
  name: 'eventGrid'
  scope: rg
  params: {
    location: location
    tags: tags
    topicName: 'evgt-certfleet-${resourceToken}'
    appPrincipalId: identities.outputs.appPrincipalId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    location: location
    tags: tags
    vaultName: 'kv-cf-${resourceToken}'
    keyName: 'certfleet-checkpoints'
    appPrincipalId: identities.outputs.appPrincipalId
    principalId: principalId
    principalType: principalType
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: 'plan-certfleet-${resourceToken}'
    functionAppName: functionAppName
    appIdentityId: identities.outputs.appIdentityId
    appClientId: identities.outputs.appClientId
    hostStorageAccountName: hostStorage.outputs.accountName
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    nodeVersion: nodeVersion
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    eventHubsNamespaceHost: eventHubs.outputs.namespaceHost
    eventHubName: eventHubs.outputs.eventHubName
    consumerGroupName: eventHubs.outputs.consumerGroupName
    fleetBlobServiceUri: fleetStorage.outputs.blobServiceUri
    fleetTableServiceUri: fleetStorage.outputs.tableServiceUri
    storagePrefix: storagePrefix
    iotHubHostName: iotHubAccess.outputs.hostName
    eventGridTopicEndpoint: eventGrid.outputs.topicEndpoint
    checkpointKeyId: keyVault.outputs.keyUri
    trustBundle: trustBundle
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    actionGroupName: 'ag-certfleet-${resourceToken}'
    alertEmail: alertEmail
    workspaceId: monitoring.outputs.workspaceId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.functionAppName
output SERVICE_API_NAME string = functionApp.outputs.functionAppName
output AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID string = identities.outputs.appClientId
// For infra/hooks/route-existing-hub.sh, unroute-existing-hub.sh and operators (azd env get-values).
output AZURE_IOTHUB_MODE string = iotHubMode
output AZURE_IOTHUB_NAME string = iotHubName
output AZURE_IOTHUB_RESOURCE_GROUP string = iotHubResourceGroupName
output AZURE_IOTHUB_HOSTNAME string = iotHubAccess.outputs.hostName
output AZURE_ROUTING_IDENTITY_ID string = identities.outputs.routingIdentityId
output AZURE_ROUTING_ENDPOINT_NAME string = routingEndpointName
output AZURE_ROUTE_TWIN_CHANGES_NAME string = twinChangesRouteName
output AZURE_ROUTE_DEVICE_LIFECYCLE_NAME string = deviceLifecycleRouteName
output AZURE_ROUTE_CONNECTION_STATE_NAME string = connectionStateRouteName
output AZURE_EVENTHUB_NAMESPACE_HOST string = eventHubs.outputs.namespaceHost
// The Function app's consumer group; give `certfleet listen` another one.
output AZURE_EVENTHUB_CONSUMER_GROUP string = eventHubs.outputs.consumerGroupName
output AZURE_FLEET_STORAGE_ACCOUNT string = fleetStorage.outputs.accountName
output AZURE_FLEET_BLOB_SERVICE_URI string = fleetStorage.outputs.blobServiceUri
output AZURE_FLEET_TABLE_SERVICE_URI string = fleetStorage.outputs.tableServiceUri
output AZURE_HOST_STORAGE_ACCOUNT string = hostStorage.outputs.accountName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.vaultName
output AZURE_EVENTGRID_TOPIC_ENDPOINT string = eventGrid.outputs.topicEndpoint
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
output AZURE_APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
// Values of certfleet settings, under the settings' own names, for the CLI run from a workstation.
output CERTFLEET_STORAGE_PREFIX string = storagePrefix
output CERTFLEET_EVENTHUB_NAME string = eventHubs.outputs.eventHubName
output CERTFLEET_CHECKPOINT_KEY_ID string = keyVault.outputs.keyUri
