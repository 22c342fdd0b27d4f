// With iotHubMode create: a new IoT hub whose routing sends certfleet what it reads (twin
// changes, device lifecycle and connection-state events) to the Event Hub, through a custom
// endpoint that authenticates as the routing identity (no connection string). Device telemetry
// keeps going to the built-in endpoint through the fallback route, for other consumers.
param location string
param tags object
param iotHubName string
@description('Standard (or Free) tiers only: Basic has no twins and no direct methods.')
@allowed([
  'F1'
  'S1'
  'S2'
  'S3'
])
param sku string
@description('F1 has exactly 1 unit; S1 and S2 up to 200, S3 up to 10 (Microsoft Learn, "Choose the right IoT Hub tier and size"). The hub refuses a count its tier does not allow.')
@minValue(1)
@maxValue(200)
param units int
param routingIdentityId string
param eventHubNamespaceName string
param eventHubName string
param eventHubResourceGroup string
param routingEndpointName string
param twinChangesRouteName string
param deviceLifecycleRouteName string
param connectionStateRouteName string

resource iotHub 'Microsoft.Devices/IotHubs@2023-06-30' = {
  name: iotHubName
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: units
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${routingIdentityId}': {}
    }
  }
  properties: {
    // No hub-scoped SAS keys (service connection strings): certfleet calls the hub with Entra ID.
    // Devices keep authenticating with their X.509 certificates. Nothing can read the built-in
    // endpoint with a key either while this is set.
    disableLocalAuth: true
    // The service requires this key on create and update (Microsoft.Devices/IotHubs@2023-06-30).
    // The built-in endpoint's device-to-cloud partitions: a Free (F1) hub allows 2, the default 4
    // is refused there (Microsoft Learn's F1 quickstarts pass `az iot hub create --sku F1
    // --partition-count 2`). certfleet reads its own Event Hub, not this one.
    eventHubEndpoints: {
      events: {
        retentionTimeInDays: 1
        partitionCount: sku == 'F1' ? 2 : 4
      }
    }
    routing: {
      endpoints: {
        eventHubs: [
          {
            name: routingEndpointName
            authenticationType: 'identityBased'
            identity: {
              userAssignedIdentity: routingIdentityId
            }
            endpointUri: 'sb://${eventHubNamespaceName}.servicebus.windows.net'
            entityPath: eventHubName
            subscriptionId: subscription().subscriptionId
            resourceGroup: eventHubResourceGroup
          }
        ]
      }
      // The three sources certfleet's ingest reads (AZURE-FACTS.md, "IoT Hub events routed to
      // Event Hubs"), every event of each.
      routes: [
        {
          name: twinChangesRouteName
          source: 'TwinChangeEvents'
          condition: 'true'
          endpointNames: [
            routingEndpointName
          ]
          isEnabled: true
        }
        {
          name: deviceLifecycleRouteName
          source: 'DeviceLifecycleEvents'
          condition: 'true'
          endpointNames: [
            routingEndpointName
          ]
          isEnabled: true
        }
        {
          name: connectionStateRouteName
          source: 'DeviceConnectionStateEvents'
          condition: 'true'
          endpointNames: [
            routingEndpointName
          ]
          isEnabled: true
        }
      ]
      fallbackRoute: {
        name: '$fallback'
        source: 'DeviceMessages'
        condition: 'true'
        endpointNames: [
          'events'
        ]
        isEnabled: true
      }
    }
  }
}

output iotHubName string = iotHub.name
output hostName string = iotHub.properties.hostName
