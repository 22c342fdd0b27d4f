import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './bicepText';

/**
 * What certfleet's code needs from Azure, read from the code itself: the settings it reads, the
 * Azure SDK calls and IoT Hub REST routes it makes and the permission each needs. The agreement
 * tests hold the deployment template to it.
 */

export interface SourceFile {
  path: string;
  text: string;
}

export function sourceFiles(...dirs: string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        files.push({
          path: relative(REPO, path).split('\\').join('/'),
          text: readFileSync(path, 'utf8'),
        });
    }
  };
  for (const dir of dirs) walk(join(REPO, dir));
  return files;
}

/** A setting's name as certfleet and the Functions host spell them. */
export const SETTING_NAME =
  /\b(?:CERTFLEET_[A-Z0-9_]+|(?:AzureWebJobsStorage|FleetStorage|IotHubEvents|IotHub|APPLICATIONINSIGHTS_[A-Z_]+)(?:__[A-Za-z]+)?)\b/g;

/** Files that hand the process environment over to shared/config (a test holds it to these). */
export const ENVIRONMENT_READERS = [
  'functions/startup.ts',
  'shared/cli/cliEnvironment.ts',
  'shared/services.ts',
];

/**
 * Every setting the code reads: certfleet reads its settings in shared/config, where each is
 * named as a setting, a zod schema's key or `env.NAME`; the files that hand the environment over
 * may read one too (`process.env.NAME`); and the Event Hub trigger names two in `%…%` binding
 * expressions.
 */
export function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const read = (text: string) => {
    for (const m of text.matchAll(/\benv(?:\.|\[\s*['"`])([A-Za-z_][A-Za-z0-9_]*)/g))
      names.add(String(m[1]));
  };
  for (const file of sourceFiles('shared/config')) {
    for (const m of file.text.matchAll(SETTING_NAME)) names.add(m[0]);
    read(file.text);
  }
  for (const file of sourceFiles('shared', 'functions').filter((f) =>
    ENVIRONMENT_READERS.includes(f.path),
  ))
    read(file.text);
  for (const file of sourceFiles('functions')) {
    for (const m of file.text.matchAll(/'%(\w+)%'/g)) names.add(String(m[1]));
  }
  return names;
}

/** A permission in Azure RBAC: a data action, or a control-plane action on the resource. */
export interface Permission {
  kind: 'dataAction' | 'action';
  name: string;
}

const data = (name: string): Permission => ({ kind: 'dataAction', name });
const control = (name: string): Permission => ({ kind: 'action', name });

const TABLE = 'Microsoft.Storage/storageAccounts/tableServices/tables';
const CONTAINER = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const BLOB = `${CONTAINER}/blobs`;

/**
 * Each Azure SDK certfleet uses: its client classes (their declarations in node_modules list
 * every method a call could be), and the permission each method certfleet calls needs
 * (Microsoft Learn, "Authorize access to blobs / tables using Microsoft Entra ID" and the
 * permissions listed per REST operation; "Azure built-in roles"). A method of these clients
 * called in certfleet's code and missing here fails the test: classify it.
 */
export interface SdkCatalog {
  module: string;
  /** Which resource the calls act on, as the template's resource type. */
  resourceType: string;
  /** Declaration files (under node_modules/<module>/dist/commonjs) of the clients used. */
  declarations: string[];
  /** Client classes named in those declarations. */
  classes: string[];
  calls: Record<string, Permission[]>;
}

export const SDK_CATALOGS: SdkCatalog[] = [
  {
    module: '@azure/data-tables',
    resourceType: 'Microsoft.Storage/storageAccounts',
    declarations: ['TableClient.d.ts'],
    classes: ['TableClient'],
    calls: {
      getEntity: [data(`${TABLE}/entities/read`)],
      listEntities: [data(`${TABLE}/entities/read`)],
      createEntity: [data(`${TABLE}/entities/add/action`)],
      upsertEntity: [data(`${TABLE}/entities/write`)],
      updateEntity: [data(`${TABLE}/entities/update/action`)],
      deleteEntity: [data(`${TABLE}/entities/delete`)],
      // A batch may insert, merge, replace and delete.
      submitTransaction: [
        data(`${TABLE}/entities/add/action`),
        data(`${TABLE}/entities/write`),
        data(`${TABLE}/entities/delete`),
      ],
      createTable: [control(`${TABLE}/write`)],
      fromConnectionString: [],
      deleteTable: [control(`${TABLE}/delete`)],
    },
  },
  {
    module: '@azure/storage-blob',
    resourceType: 'Microsoft.Storage/storageAccounts',
    declarations: ['Clients.d.ts', 'ContainerClient.d.ts', 'BlobServiceClient.d.ts'],
    classes: [
      'BlobClient',
      'AppendBlobClient',
      'BlockBlobClient',
      'ContainerClient',
      'BlobServiceClient',
    ],
    calls: {
      // ContainerClient.create/createIfNotExists make a container; AppendBlobClient's a blob.
      create: [control(`${CONTAINER}/write`), data(`${BLOB}/write`)],
      createIfNotExists: [control(`${CONTAINER}/write`), data(`${BLOB}/write`)],
      appendBlock: [data(`${BLOB}/add/action`)],
      upload: [data(`${BLOB}/write`)],
      uploadStream: [data(`${BLOB}/write`)],
      seal: [data(`${BLOB}/write`)],
      setMetadata: [control(`${CONTAINER}/write`), data(`${BLOB}/write`)],
      download: [data(`${BLOB}/read`)],
      downloadToBuffer: [data(`${BLOB}/read`)],
      exists: [data(`${BLOB}/read`)],
      getProperties: [control(`${CONTAINER}/read`), data(`${BLOB}/read`)],
      listBlobsFlat: [data(`${BLOB}/read`)],
      listBlobsByHierarchy: [data(`${BLOB}/read`)],
      delete: [control(`${CONTAINER}/delete`), data(`${BLOB}/delete`)],
      deleteIfExists: [control(`${CONTAINER}/delete`), data(`${BLOB}/delete`)],
      // Client factories: no request of their own.
      fromConnectionString: [],
      getContainerClient: [],
      getBlobClient: [],
      getAppendBlobClient: [],
      getBlockBlobClient: [],
    },
  },
  {
    module: '@azure/keyvault-keys',
    resourceType: 'Microsoft.KeyVault/vaults',
    declarations: ['cryptographyClient.d.ts', 'index.d.ts'],
    classes: ['CryptographyClient', 'KeyClient'],
    calls: {
      signData: [data('Microsoft.KeyVault/vaults/keys/sign/action')],
      sign: [data('Microsoft.KeyVault/vaults/keys/sign/action')],
      getKey: [data('Microsoft.KeyVault/vaults/keys/read')],
    },
  },
  {
    module: '@azure/eventgrid',
    resourceType: 'Microsoft.EventGrid/topics',
    declarations: ['eventGridClient.d.ts'],
    classes: ['EventGridPublisherClient'],
    calls: { send: [data('Microsoft.EventGrid/events/send/action')] },
  },
  {
    module: '@azure/event-hubs',
    resourceType: 'Microsoft.EventHub/namespaces',
    declarations: ['eventHubConsumerClient.d.ts'],
    classes: ['EventHubConsumerClient'],
    calls: {
      subscribe: [data('Microsoft.EventHub/namespaces/messages/receive/action')],
      getPartitionIds: [data('Microsoft.EventHub/namespaces/messages/receive/action')],
      getPartitionProperties: [data('Microsoft.EventHub/namespaces/messages/receive/action')],
      getEventHubProperties: [data('Microsoft.EventHub/namespaces/messages/receive/action')],
      close: [],
    },
  },
];

/**
 * `@azure/*` packages the code imports that make no call of their own to check: credentials (their
 * token requests go to Entra ID, not to a resource), the Functions programming model, and the
 * Event Hubs checkpoint store, which calls Blob storage on the container certfleet hands it (the
 * Blob catalog's permissions on the fleet account cover it: list, upload, set metadata).
 */
export const AZURE_PACKAGES_WITHOUT_CALLS = [
  '@azure/identity',
  '@azure/functions',
  '@azure/eventhubs-checkpointstore-blob',
];

/** Every `@azure/*` package the files import (or require). */
export function azurePackagesImported(files: SourceFile[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of files) {
    for (const m of file.text.matchAll(
      /(?:from\s+|require\(\s*|import\(\s*)'(@azure\/[a-z0-9-]+)/g,
    )) {
      found.set(String(m[1]), [...(found.get(String(m[1])) ?? []), file.path]);
    }
  }
  return found;
}

/** The public method names a client class declares. */
export function declaredMethods(catalog: SdkCatalog): Set<string> {
  const methods = new Set<string>();
  for (const file of catalog.declarations) {
    const text = readFileSync(
      join(REPO, 'node_modules', catalog.module, 'dist', 'commonjs', file),
      'utf8',
    );
    for (const className of catalog.classes) {
      const start = text.search(new RegExp(`export declare class ${className}\\b`));
      if (start < 0) continue;
      const end = text.indexOf('\n}', start);
      const body = text.slice(start, end);
      for (const m of body.matchAll(/^ {4}(?:static\s+)?([a-z][A-Za-z0-9]*)\s*(?:<[^\n]*?>)?\(/gm))
        methods.add(String(m[1]));
    }
  }
  return methods;
}

export interface SdkCall {
  file: string;
  module: string;
  method: string;
}

/**
 * The calls of each SDK's client methods in the files that use that SDK (that import it, or
 * take its clients: the storage adapters get them from StorageClients). Conservative: a method
 * of the same name on another object in such a file counts too.
 */
export function sdkCallsInCode(files: SourceFile[]): SdkCall[] {
  const calls: SdkCall[] = [];
  for (const catalog of SDK_CATALOGS) {
    const methods = declaredMethods(catalog);
    for (const file of files) {
      const uses =
        file.text.includes(`'${catalog.module}'`) ||
        catalog.classes.some((c) => new RegExp(`\\b${c}\\b`).test(file.text));
      if (!uses) continue;
      const code = file.text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '');
      for (const m of code.matchAll(/\.\s*([a-z][A-Za-z0-9]*)\s*(?:<[^>()]*>)?\(/g)) {
        const method = String(m[1]);
        if (methods.has(method)) calls.push({ file: file.path, module: catalog.module, method });
      }
    }
  }
  return calls;
}

/**
 * IoT Hub's REST routes certfleet calls, and the IoT Hub data action each needs (Microsoft
 * Learn, "Control access to IoT Hub by using Microsoft Entra ID": the permission per REST
 * operation).
 */
export const IOT_HUB_ROUTES: Record<string, string> = {
  '/twins/{id}/methods': 'Microsoft.Devices/IotHubs/directMethods/invoke/action',
  '/devices/query': 'Microsoft.Devices/IotHubs/twins/read',
  '/statistics/service': 'Microsoft.Devices/IotHubs/statistics/read',
};

/** The routes the IoT Hub adapters build URLs for: `urlOf(target, '/…')` and `/twins/${…}/…`. */
export function iotHubRoutesInCode(files: SourceFile[]): { file: string; route: string }[] {
  const routes: { file: string; route: string }[] = [];
  for (const file of files.filter((f) => f.path.startsWith('shared/adapters/iothub/'))) {
    for (const m of file.text.matchAll(/urlOf\(\s*[\w.]+,\s*(?:(['`])(.*?)\1|(\w+))/g)) {
      // A path written in the call, or a constant of the file (`const PATH = '/…'`).
      const constant = m[3] && new RegExp(`const ${m[3]}\\s*=\\s*'([^']*)'`).exec(file.text);
      const path = m[3] ? constant?.[1] : m[2];
      if (path === undefined)
        throw new Error(`${file.path}: cannot read the IoT Hub route ${m[0]}`);
      routes.push({ file: file.path, route: path.replace(/\$\{[^}]*\}/g, '{id}') });
    }
  }
  return routes;
}

/** Whether a role's action pattern (`Microsoft.Devices/IotHubs/*`) allows an action. */
export function allows(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}
