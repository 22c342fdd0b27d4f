// The Key Vault that holds the key signing the audit trail's checkpoints (docs/auditing.md, "The
// signing key"): EC P-256 for ES256, used by the Function app through Key Vault (sign, and read
// the public part) so the private key never leaves the vault and storage writers cannot sign.
// Azure RBAC authorization, soft delete and purge protection: a deleted vault or key can be
// recovered for 90 days and purged by no one meanwhile.
param location string
param tags object
param vaultName string
param keyName string
param appPrincipalId string
@description('Whoever runs azd: Key Vault Reader to verify checkpoints from a workstation. Empty: none.')
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

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

// Created once: Key Vault's management API creates a key only if it does not exist, and never
// adds a version on redeployment. Rotate with `az keyvault key rotate` (checkpoints name the
// version that signed them; every version of this key stays trusted).
resource checkpointKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: keyName
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
    attributes: {
      enabled: true
    }
  }
}

// The hourly audit checkpoint (functions/auditTrail.ts, KeyVaultCheckpointKey.ts):
// CryptographyClient.signData('ES256') needs keys/sign/action, KeyClient.getKey (the public key
// checkpoints are verified with, every version) keys/read. On this key only, not the vault.
resource appKeyCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(checkpointKey.id, appPrincipalId, roles.keyVaultCryptoUser)
  scope: checkpointKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Operations, not the app: `certfleet audit verify` from a workstation reads the checkpoint
// key's public versions (KeyClient.getKey); Key Vault Reader never reads key material.
resource operatorVaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(vault.id, principalId, roles.keyVaultReader)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader)
    principalId: principalId
    principalType: principalType
  }
}

output vaultName string = vault.name
// The key without a version (https://<vault>.vault.azure.net/keys/<name>): the current version
// signs, as CERTFLEET_CHECKPOINT_KEY_ID expects.
output keyUri string = checkpointKey.properties.keyUri
