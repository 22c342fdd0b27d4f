// The Event Hub IoT Hub routes twin changes, device lifecycle and connection-state events to (a
// namespace of certfleet's own, not the hub's built-in endpoint, which Entra ID cannot read), and
// certfleet's consumer group on it. Local (SAS) authentication is off: the Function app reads
// with its identity, the IoT hub sends with the routing identity.
param location string
param tags object
param namespaceName string
param eventHubName string
param consumerGroupName string
@minValue(1)
@maxValue(32)
param partitionCount int
@minValue(1)
@maxValue(7)
param retentionDays int
param appPrincipalId string
param routingPrincipalId string

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

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: false
  }
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

// The Function app's own consumer group (functions/iotHubEvents.ts:
// %CERTFLEET_EVENTHUB_CONSUMER_GROUP%). Give `certfleet listen` another one.
resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: eventHub
  name: consumerGroupName
  properties: {
    userMetadata: 'certfleet Function app (iotHubEvents trigger)'
  }
}

// The Event Hubs trigger (functions/iotHubEvents.ts, connection IotHubEvents by identity)
// receives the routed events; the health check's EventHubConsumerClient.getPartitionIds and
// getPartitionProperties read each partition's last sequence number; `certfleet listen`
// subscribes (shared/cli/listen.ts).
resource appEventHubReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, appPrincipalId, roles.eventHubsDataReceiver)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Not certfleet's code but IoT Hub's: message routing sends TwinChangeEvents,
// DeviceLifecycleEvents and DeviceConnectionStateEvents to this Event Hub through its
// identity-based custom endpoint, as the routing identity (Microsoft Learn, "Azure IoT Hub managed
// identity": routing to an Event Hubs endpoint needs Azure Event Hubs Data Sender, assigned before
// the endpoint is added).
resource routingEventHubSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, routingPrincipalId, roles.eventHubsDataSender)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
    principalId: routingPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output namespaceName string = namespace.name
// The host name the trigger and IoT Hub's endpoint use (Azure public cloud).
output namespaceHost string = '${namespace.name}.servicebus.windows.net'
output eventHubName string = eventHub.name
output consumerGroupName string = consumerGroup.name
output senderAssignmentId string = routingEventHubSender.id
