// certfleet's own data (FleetStorage, reached by identity; docs/storage.md): the ledger and the
// state tables, the audit trail and its signed checkpoints, the daily reports, dead letters, and
// the checkpoints of `certfleet listen`. Shared keys are off. The audit, checkpoint and report
// containers carry a time-based retention (WORM) policy, created unlocked (docs/deploy.md says
// how to lock it).
param location string
param tags object
param accountName string
param sku string
@minLength(3)
@maxLength(31)
param storagePrefix string
param auditRetentionDays int
@description('True once the policies are locked: ARM can then only extend them (az storage container immutability-policy extend), so the template leaves them alone.')
param immutabilityPoliciesLocked bool
param appPrincipalId string
@description('Whoever runs azd: read access for operations. Empty: none.')
param principalId string
param principalType string

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

resource fleetStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: sku
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

resource fleetBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: fleetStorage
  name: 'default'
}

resource fleetTableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: fleetStorage
  name: 'default'
}

// The tables certfleet writes (shared/services.ts); certfleet also creates any that is missing on
// first use. `<prefix>devices` and `<prefix>due` belong to ledgers of earlier releases: certfleet
// only reads them, and `certfleet ledger migrate` drops them, so they are not created here.
resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: fleetTableService
  name: '${storagePrefix}ledger'
}

// Pacing, rotations and audit receipts.
resource stateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: fleetTableService
  name: '${storagePrefix}state'
}

// Open alerts.
resource alertsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: fleetTableService
  name: '${storagePrefix}alerts'
}

// The notification outbox.
resource alertOutboxTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: fleetTableService
  name: '${storagePrefix}alertoutbox'
}

// The audit trail: JSON Lines in append blobs, one chain per blob (docs/auditing.md).
resource auditContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: fleetBlobService
  name: '${storagePrefix}-audit'
  properties: {
    publicAccess: 'None'
  }
}

// The audit trail's signed checkpoints, one block blob each, written with If-None-Match.
resource auditCheckpointsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: fleetBlobService
  name: '${storagePrefix}-auditcheckpoints'
  properties: {
    publicAccess: 'None'
  }
}

// The daily point-in-time reports, block blobs uploaded with If-None-Match.
resource reportsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: fleetBlobService
  name: '${storagePrefix}-reports'
  properties: {
    publicAccess: 'None'
  }
}

// Events certfleet could not use, by date and code (`certfleet deadletters`).
resource deadLettersContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: fleetBlobService
  name: '${storagePrefix}-deadletters'
  properties: {
    publicAccess: 'None'
  }
}

// Checkpoints of `certfleet listen` when it runs beside the app (docs/operations.md); unused by
// the Function app, whose trigger checkpoints in the host storage.
resource listenCheckpointsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: fleetBlobService
  name: '${storagePrefix}-checkpoints'
  properties: {
    publicAccess: 'None'
  }
}

// WORM on the audit trail. Protected append writes let certfleet append new blocks to its
// append blobs while every block already written stays unchangeable (Microsoft Learn,
// "Store business-critical blob data with immutable storage"). Created unlocked: the template
// never locks a policy (a locked one can only be extended, and keeps the container and the account
// from deletion until every blob's retention has passed); docs/deploy.md says how to lock them, and
// to set IMMUTABILITY_POLICIES_LOCKED=true afterwards, as ARM can no longer update them.
resource auditRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!immutabilityPoliciesLocked) {
  parent: auditContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    allowProtectedAppendWrites: true
  }
}

// Checkpoints are created once and never rewritten (BlobCheckpointStore: If-None-Match), so a
// retention policy without append writes takes nothing from certfleet.
resource auditCheckpointsRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!immutabilityPoliciesLocked) {
  parent: auditCheckpointsContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    allowProtectedAppendWrites: false
  }
}

// Report files are created once (BlobReportArchive: staged blocks committed with If-None-Match)
// and only read afterwards.
resource reportsRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!immutabilityPoliciesLocked) {
  parent: reportsContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    allowProtectedAppendWrites: false
  }
}

// The audit trail, checkpoints, reports, dead letters and listen checkpoints: BlobClient and
// ContainerClient calls in shared/adapters/storage (BlobAuditTrail: appendBlock, create,
// listBlobsFlat, download; BlobCheckpointStore and BlobReportArchive: upload, uploadStream,
// download, listBlobsByHierarchy; BlobDeadLetters: upload; createIfNotExists on every container).
resource appFleetBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(fleetStorage.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: fleetStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The ledger, alerts, outbox, pacing, rotations and audit receipts: TableClient.getEntity,
// listEntities, createEntity, upsertEntity, updateEntity, deleteEntity, submitTransaction and
// createTable (shared/adapters/storage/Table*.ts); deleteTable of the earlier release's tables in
// `certfleet ledger migrate` (LegacyLedgerTables.ts).
resource appFleetTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(fleetStorage.id, appPrincipalId, roles.storageTableDataContributor)
  scope: fleetStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Operations, not the app: whoever runs azd reads the audit trail and reports with
// `certfleet audit verify`, `audit show`, `report --as-of` (BlobClient.download, listBlobsFlat)
// from a workstation. A person, so principalType follows AZURE_PRINCIPAL_TYPE.
resource operatorFleetBlobReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(fleetStorage.id, principalId, roles.storageBlobDataReader)
  scope: fleetStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: principalId
    principalType: principalType
  }
}

// Operations, not the app: `certfleet device`, `devices`, `report summary`, `alerts`
// (TableClient.getEntity, listEntities) read the ledger from a workstation.
resource operatorFleetTableReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(fleetStorage.id, principalId, roles.storageTableDataReader)
  scope: fleetStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataReader)
    principalId: principalId
    principalType: principalType
  }
}

output accountName string = fleetStorage.name
// Without a trailing slash, as docs/operations.md writes them.
output blobServiceUri string = 'https://${fleetStorage.name}.blob.${environment().suffixes.storage}'
output tableServiceUri string = 'https://${fleetStorage.name}.table.${environment().suffixes.storage}'
