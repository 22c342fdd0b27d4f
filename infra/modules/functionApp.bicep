// The Function app on Flex Consumption (Linux, scale to zero), running the package azd deploys to
// the host storage's app-package container, with one user-assigned identity for every call it
// makes. Every app setting is in the one `appSettings` resource below (the agreement tests in
// test/infra read it); none holds a secret: each connection is an endpoint plus
// `managedidentity` and the identity's client id.
//
// Flex Consumption does not take FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION or the
// WEBSITE_* node version and content settings (Microsoft Learn, "Azure Functions Flex
// Consumption plan hosting": Deprecated properties and settings): the runtime and its version are
// functionAppConfig.runtime, and none of them is set here.
param location string
param tags object
param planName string
param functionAppName string
param appIdentityId string
param appClientId string
param hostStorageAccountName string
param deploymentContainerUrl string
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int
@allowed([
  '20'
  '22'
])
param nodeVersion string
@description('Application Insights connection string: with local authentication disabled on the component it admits nothing.')
param appInsightsConnectionString string
param eventHubsNamespaceHost string
param eventHubName string
param consumerGroupName string
param fleetBlobServiceUri string
param fleetTableServiceUri string
@minLength(3)
@maxLength(31)
param storagePrefix string
param iotHubHostName string
param eventGridTopicEndpoint string
param checkpointKeyId string
@description('PEM certificates (public), or empty.')
param trustBundle string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  // azd finds the app to deploy the `api` service of azure.yaml to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings you add yourself (a webhook secret, say) resolve with
    // this identity; grant it Key Vault Secrets User on those secrets.
    keyVaultReferenceIdentity: appIdentityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// No FTP and no basic-auth publishing (SCM): azd and Core Tools deploy with Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// The complete set of app settings: a deployment replaces whatever else was set by hand. The
// names are those shared/config reads (README, "Settings"); everything not here keeps its default.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: hostStorageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: appClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${appClientId};Authorization=AAD'
    IotHubEvents__fullyQualifiedNamespace: eventHubsNamespaceHost
    IotHubEvents__credential: 'managedidentity'
    IotHubEvents__clientId: appClientId
    CERTFLEET_EVENTHUB_NAME: eventHubName
    CERTFLEET_EVENTHUB_CONSUMER_GROUP: consumerGroupName
    FleetStorage__blobServiceUri: fleetBlobServiceUri
    FleetStorage__tableServiceUri: fleetTableServiceUri
    FleetStorage__credential: 'managedidentity'
    FleetStorage__clientId: appClientId
    CERTFLEET_STORAGE_PREFIX: storagePrefix
    IotHub__fullyQualifiedName: iotHubHostName
    IotHub__credential: 'managedidentity'
    IotHub__clientId: appClientId
    CERTFLEET_ALERT_EVENTGRID_ENDPOINT: eventGridTopicEndpoint
    CERTFLEET_ALERT_EVENTGRID_CREDENTIAL: 'managedidentity'
    CERTFLEET_ALERT_EVENTGRID_CLIENT_ID: appClientId
    CERTFLEET_CHECKPOINT_KEY_ID: checkpointKeyId
    CERTFLEET_CHECKPOINT_KEY_CLIENT_ID: appClientId
    CERTFLEET_TRUST_BUNDLE: trustBundle
  }
}

output functionAppName string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
