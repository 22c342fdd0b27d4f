// The Function app's access to the IoT hub's data plane, in the hub's own resource group (the
// hub this template created, or an existing one: this module only reads it, never redeclares
// it). By default a custom role holding exactly the data actions certfleet uses; with
// iotHubRoleMode builtin, IoT Hub Data Contributor instead, for tenants that allow no custom
// roles. Creating a role definition needs Microsoft.Authorization/roleDefinitions/write on the
// resource group (Owner or User Access Administrator).
param iotHubName string
@allowed([
  'custom'
  'builtin'
])
param iotHubRoleMode string
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

// A role definition's name is a GUID; one per resource group, so redeploying reuses it.
var customRoleGuid = guid(resourceGroup().id, 'certfleet-iothub-data')

resource iotHub 'Microsoft.Devices/IotHubs@2023-06-30' existing = {
  name: iotHubName
}

// Exactly the IoT Hub data actions certfleet needs (Microsoft Learn, "Control access to IoT Hub by
// using Microsoft Entra ID", permissions for IoT Hub service APIs; test/infra/builtInRoles.ts):
// directMethods/invoke/action for POST /twins/{id}/methods, the renewal request
// (IotHubDeviceMethods.ts); twins/read for POST /devices/query, backfill and the daily reconcile
// (IotHubTwinQuery.ts); statistics/read for GET /statistics/service, the health check's count of
// connected devices.
resource iotHubDataRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (iotHubRoleMode == 'custom') {
  name: customRoleGuid
  properties: {
    // Role names are unique in the tenant: the resource group's hash keeps two deployments apart.
    roleName: 'certfleet IoT Hub data access (${uniqueString(resourceGroup().id)})'
    description: 'What certfleet calls on IoT Hub: invoke direct methods, query twins, read service statistics. No device, twin or configuration writes, no keys.'
    type: 'customRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Devices/IotHubs/directMethods/invoke/action'
          'Microsoft.Devices/IotHubs/twins/read'
          'Microsoft.Devices/IotHubs/statistics/read'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

// Renewal requests by direct method (IotHubDeviceMethods.ts, POST /twins/{id}/methods), the
// twin query of backfill and reconcile (IotHubTwinQuery.ts, POST /devices/query) and the health
// check's service statistics (GET /statistics/service), with the app's Entra ID token
// (IotHubAccess.ts, scope https://iothubs.azure.net/.default).
resource appIotHubData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(iotHub.id, appPrincipalId, iotHubRoleMode == 'custom' ? customRoleGuid : roles.iotHubDataContributor)
  scope: iotHub
  properties: {
    roleDefinitionId: iotHubRoleMode == 'custom' ? subscriptionResourceId('Microsoft.Authorization/roleDefinitions', customRoleGuid) : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.iotHubDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    iotHubDataRole
  ]
}

output hostName string = iotHub.properties.hostName
