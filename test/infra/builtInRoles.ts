/**
 * The Azure built-in roles the deployment template (infra/) assigns, with their ids and what they
 * allow, as Microsoft lists them: Microsoft Learn, "Azure built-in roles for Storage", "... for
 * Analytics" (Event Hubs), "... for Integration" (Event Grid), "... for Security" (Key Vault),
 * "... for Monitor" and "... for Internet of Things" (MicrosoftDocs/azure-docs,
 * articles/role-based-access-control/built-in-roles/*.md, each role's JSON definition; read
 * 2026). `actions` are control-plane permissions (some data-plane calls need one: creating a
 * container or a table), `dataActions` data-plane ones; `*` in either is a wildcard. None of these
 * roles has notActions or notDataActions.
 *
 * `bicepName` is the role's key in the `var roles` object of the template's Bicep files.
 */
export interface BuiltInRole {
  name: string;
  bicepName: string;
  id: string;
  actions: string[];
  dataActions: string[];
}

const BLOB_CONTAINERS = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const TABLES = 'Microsoft.Storage/storageAccounts/tableServices/tables';
const KEYS = 'Microsoft.KeyVault/vaults/keys';

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  {
    name: 'Storage Blob Data Owner',
    bicepName: 'storageBlobDataOwner',
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    actions: [
      `${BLOB_CONTAINERS}/*`,
      'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
    ],
    dataActions: [`${BLOB_CONTAINERS}/blobs/*`],
  },
  {
    name: 'Storage Blob Data Contributor',
    bicepName: 'storageBlobDataContributor',
    id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    actions: [
      `${BLOB_CONTAINERS}/delete`,
      `${BLOB_CONTAINERS}/read`,
      `${BLOB_CONTAINERS}/write`,
      'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
    ],
    dataActions: [
      `${BLOB_CONTAINERS}/blobs/delete`,
      `${BLOB_CONTAINERS}/blobs/read`,
      `${BLOB_CONTAINERS}/blobs/write`,
      `${BLOB_CONTAINERS}/blobs/move/action`,
      `${BLOB_CONTAINERS}/blobs/add/action`,
    ],
  },
  {
    name: 'Storage Blob Data Reader',
    bicepName: 'storageBlobDataReader',
    id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
    actions: [
      `${BLOB_CONTAINERS}/read`,
      'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
    ],
    dataActions: [`${BLOB_CONTAINERS}/blobs/read`],
  },
  {
    name: 'Storage Table Data Contributor',
    bicepName: 'storageTableDataContributor',
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    actions: [`${TABLES}/read`, `${TABLES}/write`, `${TABLES}/delete`],
    dataActions: [
      `${TABLES}/entities/read`,
      `${TABLES}/entities/write`,
      `${TABLES}/entities/delete`,
      `${TABLES}/entities/add/action`,
      `${TABLES}/entities/update/action`,
    ],
  },
  {
    name: 'Storage Table Data Reader',
    bicepName: 'storageTableDataReader',
    id: '76199698-9eea-4c19-bc75-cec21354c6b6',
    actions: [`${TABLES}/read`],
    dataActions: [`${TABLES}/entities/read`],
  },
  {
    name: 'Azure Event Hubs Data Receiver',
    bicepName: 'eventHubsDataReceiver',
    id: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
    actions: ['Microsoft.EventHub/*/eventhubs/consumergroups/read'],
    dataActions: ['Microsoft.EventHub/*/receive/action'],
  },
  {
    name: 'Azure Event Hubs Data Sender',
    bicepName: 'eventHubsDataSender',
    id: '2b629674-e913-4c01-ae53-ef4638d8f975',
    actions: ['Microsoft.EventHub/*/eventhubs/read'],
    dataActions: ['Microsoft.EventHub/*/send/action'],
  },
  {
    name: 'EventGrid Data Sender',
    bicepName: 'eventGridDataSender',
    id: 'd5a91429-5739-47e2-a06b-3470a27159e7',
    actions: [
      'Microsoft.Authorization/*/read',
      'Microsoft.EventGrid/topics/read',
      'Microsoft.EventGrid/domains/read',
      'Microsoft.EventGrid/partnerNamespaces/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.EventGrid/namespaces/read',
    ],
    dataActions: ['Microsoft.EventGrid/events/send/action'],
  },
  {
    name: 'Key Vault Crypto User',
    bicepName: 'keyVaultCryptoUser',
    id: '12338af0-0e69-4776-bea7-57ae8d297424',
    actions: [],
    dataActions: [
      `${KEYS}/read`,
      `${KEYS}/update/action`,
      `${KEYS}/backup/action`,
      `${KEYS}/encrypt/action`,
      `${KEYS}/decrypt/action`,
      `${KEYS}/wrap/action`,
      `${KEYS}/unwrap/action`,
      `${KEYS}/sign/action`,
      `${KEYS}/verify/action`,
    ],
  },
  {
    name: 'Key Vault Reader',
    bicepName: 'keyVaultReader',
    id: '21090545-7ca7-4776-b22c-e363652d74d2',
    actions: [
      'Microsoft.Authorization/*/read',
      'Microsoft.Insights/alertRules/*',
      'Microsoft.Resources/deployments/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Support/*',
      'Microsoft.KeyVault/checkNameAvailability/read',
      'Microsoft.KeyVault/deletedVaults/read',
      'Microsoft.KeyVault/locations/*/read',
      'Microsoft.KeyVault/vaults/*/read',
      'Microsoft.KeyVault/operations/read',
    ],
    dataActions: [
      'Microsoft.KeyVault/vaults/*/read',
      'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
    ],
  },
  {
    name: 'Monitoring Metrics Publisher',
    bicepName: 'monitoringMetricsPublisher',
    id: '3913510d-42f4-4e42-8a64-420c390055eb',
    actions: [
      'Microsoft.Insights/Register/Action',
      'Microsoft.Support/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ],
    dataActions: ['Microsoft.Insights/Metrics/Write', 'Microsoft.Insights/Telemetry/Write'],
  },
  {
    name: 'IoT Hub Data Contributor',
    bicepName: 'iotHubDataContributor',
    id: '4fc6c259-987e-4a07-842e-c321cc9d413f',
    actions: [],
    dataActions: ['Microsoft.Devices/IotHubs/*'],
  },
];

/**
 * The IoT Hub data actions of the calls certfleet makes (Microsoft Learn, "Control access to IoT
 * Hub by using Microsoft Entra ID", permissions for IoT Hub service APIs: "The Twin Query
 * operation requires Microsoft.Devices/IotHubs/twins/read"), in this order: invoking a direct
 * method (`POST /twins/{id}/methods`), the twin query (`POST /devices/query`), and reading service
 * statistics (`GET /statistics/service`). The template's custom IoT Hub role holds exactly these.
 */
export const IOT_HUB_DATA_ACTIONS: readonly string[] = [
  'Microsoft.Devices/IotHubs/directMethods/invoke/action',
  'Microsoft.Devices/IotHubs/twins/read',
  'Microsoft.Devices/IotHubs/statistics/read',
];
