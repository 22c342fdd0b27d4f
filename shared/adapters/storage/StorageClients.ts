import {
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';
import { azureCredential } from '../azureCredential';
import { StorageSettings } from '../../config/settings';

/**
 * Builds the storage SDK clients for the `FleetStorage` connection, from one of:
 * - a connection string (`FleetStorage`), Azurite's included;
 * - `FleetStorage__blobServiceUri` + `FleetStorage__tableServiceUri` with Entra ID: a managed
 *   identity (`FleetStorage__credential=managedidentity`, optionally `FleetStorage__clientId`)
 *   or DefaultAzureCredential;
 * - nothing: local Azurite development storage on its default ports.
 * Built once per process (the composition root); never inside a handler.
 */
export class StorageClients {
  private constructor(
    readonly blobService: BlobServiceClient,
    private readonly makeTable: (name: string) => TableClient,
    readonly description: string,
  ) {}

  static fromSettings(settings: StorageSettings): StorageClients {
    if (settings.kind === 'identity') {
      const credential = azureCredential({
        kind: settings.credential === 'managedidentity' ? 'managedidentity' : 'default',
        ...(settings.clientId ? { clientId: settings.clientId } : {}),
      });
      return new StorageClients(
        new BlobServiceClient(settings.blobServiceUri, credential),
        (name) => new TableClient(settings.tableServiceUri, name, credential),
        `${settings.blobServiceUri} (Entra ID)`,
      );
    }
    const connectionString =
      settings.kind === 'connection-string'
        ? settings.connectionString
        : 'UseDevelopmentStorage=true';
    const blobService = BlobServiceClient.fromConnectionString(connectionString);
    if (/UseDevelopmentStorage=true/i.test(connectionString)) {
      // @azure/data-tables does not read UseDevelopmentStorage: reuse the account the blob SDK
      // resolved for Azurite, at Azurite's default table port.
      // (The key is Azurite's published development key, private in the SDK's typings.)
      const account = blobService.credential as StorageSharedKeyCredential;
      const accountKey = (account as unknown as { accountKey: Buffer }).accountKey.toString(
        'base64',
      );
      const tableUrl = blobService.url.replace(':10000', ':10002');
      const credential = new AzureNamedKeyCredential(account.accountName, accountKey);
      return new StorageClients(
        blobService,
        (name) => new TableClient(tableUrl, name, credential, { allowInsecureConnection: true }),
        'Azurite development storage (127.0.0.1:10000, :10002)',
      );
    }
    const insecure = /DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(connectionString);
    return new StorageClients(
      blobService,
      (name) =>
        TableClient.fromConnectionString(connectionString, name, {
          allowInsecureConnection: insecure,
        }),
      `${blobService.accountName} (connection string)`,
    );
  }

  table(name: string): TableClient {
    return this.makeTable(name);
  }

  container(name: string): ContainerClient {
    return this.blobService.getContainerClient(name);
  }
}
