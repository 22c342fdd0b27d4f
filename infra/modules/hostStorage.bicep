// The Functions host's own storage account (AzureWebJobsStorage, reached by identity): the Event
// Hubs trigger's checkpoints and partition leases, the timers' singleton locks, the host's keys,
// and the container Flex Consumption deploys the app package from. Shared keys are off: nothing
// here, nor anyone holding a key, can use one.
param location string
param tags object
param accountName string
param appPrincipalId string

// Built-in role ids (Microsoft Learn, "Azure built-in roles": Storage, Analytics, Integration,
// Security, Monitor and Internet of Things pages). The same object in every file that assigns a
// role; test/infra/builtInRoles.ts lists what each allows.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  keyVaultReader: '21090545-7ca7-4776-b22c-e363652d74d2'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  iotHubDataContributor: '4fc6c259-987e-4a07-842e-c321cc9d413f'
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

// Flex Consumption runs the package azd deploys to this container (functionAppConfig.deployment).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: 'app-package'
  properties: {
    publicAccess: 'None'
  }
}

// The Functions host (AzureWebJobsStorage__accountName, __credential, __clientId): Event Hubs
// trigger checkpoints and partition ownership (blobs in azure-webjobs-eventhub), timer singleton
// locks and host keys (azure-webjobs-hosts, azure-webjobs-secrets), containers it creates itself,
// and Flex Consumption reading the deployment package; certfleet's health check reads the
// trigger's checkpoints from here. Only blobs: no queue or table trigger, binding or durable
// feature is used, so no queue or table role.
resource appHostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output accountName string = hostStorage.name
output deploymentContainerUrl string = 'https://${hostStorage.name}.blob.${environment().suffixes.storage}/${deploymentContainer.name}'
