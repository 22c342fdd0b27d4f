import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpointKeySettings } from '../../shared/config/checkpointSettings';
import { loadEventHubSettings } from '../../shared/config/eventHubSettings';
import { loadSettings } from '../../shared/config/settings';
import { eventHubTriggers } from '../../shared/local/triggerDefinitions';
import { StorageClients } from '../../shared/adapters/storage/StorageClients';
import { buildServices } from '../../shared/services';
import {
  BicepFile,
  BicepResource,
  REPO,
  arrayItems,
  modulesOf,
  propertiesOf,
  propertyAt,
  readBicepFiles,
  resourcesOf,
  unwrap,
  variables,
} from './bicepText';
import { BUILT_IN_ROLES } from './builtInRoles';
import {
  AZURE_PACKAGES_WITHOUT_CALLS,
  ENVIRONMENT_READERS,
  IOT_HUB_ROUTES,
  Permission,
  azurePackagesImported,
  SDK_CATALOGS,
  SETTING_NAME,
  allows,
  iotHubRoutesInCode,
  sdkCallsInCode,
  settingsTheCodeReads,
  sourceFiles,
} from './codeInventory';
import { firstColumnNames, markdownSection } from './docsText';
import { AzureValue, TemplateValues } from './templateValues';

/**
 * The deployment template (azure.yaml, infra/) and the code agree: every setting the code reads
 * is set by the template or documented as optional, every connection is by identity, every call
 * the code makes is allowed by a role the template grants on the resource it goes to, and every
 * table and container the code writes is one the template creates. Read from the Bicep's text:
 * no Bicep compiler can run here (docs/deploy.md, "What was not run here").
 */

const MAIN = 'infra/main.bicep';
const FUNCTION_APP = 'infra/modules/functionApp.bicep';
const files = readBicepFiles();
const resources = files.flatMap(resourcesOf);

/** What Azure gives at deployment, by example, for the expressions only Azure can resolve. */
const AZURE_VALUES: AzureValue[] = [
  [/^uniqueString\(.*\)$/s, () => 'k3xq7n2m4p5r6'],
  [/^guid\((.*)\)$/s, (m) => `guid(${m[1]})`],
  [/^environment\(\)\.suffixes\.storage$/, () => 'core.windows.net'],
  [/^subscription\(\)\.id$/, () => '/subscriptions/00000000-0000-0000-0000-000000000001'],
  [
    /^resourceGroup\(\)\.id$/,
    () => '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg',
  ],
  [/^(\w+)\.id$/, (m) => `resource-id:${m[1]}`],
  // A user-assigned identity's ids: told apart by the identity, as Azure's GUIDs are.
  [/^(\w+)\.properties\.principalId$/, (m) => `principal-of:${m[1]}`],
  [/^(\w+)\.properties\.clientId$/, (m) => `client-of:${m[1]}`],
  [/^(\w+)\.properties\.hostName$/, (m, valueOf) => `${valueOf(`${m[1]}.name`)}.azure-devices.net`],
  [
    /^(\w+)\.properties\.keyUri$/,
    () => 'https://kv-cf-sample.vault.azure.net/keys/certfleet-checkpoints',
  ],
  [
    /^(\w+)\.properties\.endpoint$/,
    () => 'https://evgt-sample.eastus-1.eventgrid.azure.net/api/events',
  ],
  [
    /^(\w+)\.properties\.ConnectionString$/,
    () =>
      'InstrumentationKey=00000000-0000-0000-0000-0000000000a1;IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/',
  ],
  [/^tenant\(\)\.tenantId$/, () => '00000000-0000-0000-0000-0000000000t1'],
  [
    /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*(.+)\)$/s,
    (m, valueOf) => `role:${valueOf(String(m[1]))}`,
  ],
];

/** The parameters azd is given: the required ones, and what a run chooses. */
const CREATE_HUB = {
  environmentName: 'prod',
  location: 'eastus',
  alertEmail: 'ops@contoso.example',
};
const EXISTING_HUB = {
  ...CREATE_HUB,
  iotHubMode: 'existing',
  existingIotHubName: 'contoso-hub',
  existingIotHubResourceGroup: 'rg-iot',
};
const DEPLOYMENTS: [string, Record<string, string>][] = [
  ['a new hub and the custom IoT Hub role', CREATE_HUB],
  ['an existing hub', EXISTING_HUB],
  ['the built-in IoT Hub role', { ...CREATE_HUB, iotHubRoleMode: 'builtin' }],
];

function appSettingsResource(): BicepResource {
  const found = resources.filter(
    (r) =>
      r.type === 'Microsoft.Web/sites/config' &&
      propertiesOf(r.body).get('name') === "'appsettings'",
  );
  expect(found.map((r) => r.file)).toEqual([FUNCTION_APP]);
  return found[0] as BicepResource;
}

/** The app settings as written: name to Bicep expression. */
function templateSettings(): Map<string, string> {
  const properties = propertiesOf(appSettingsResource().body).get('properties');
  return propertiesOf(unwrap(properties ?? '') ?? '');
}

/** The app settings as a deployment with these parameters sets them. */
function deployedSettings(given: Record<string, string>): Record<string, string> {
  const values = new TemplateValues(files, MAIN, given, AZURE_VALUES);
  return Object.fromEntries(
    [...templateSettings()].map(([name, expr]) => [name, values.valueOf(FUNCTION_APP, expr)]),
  );
}

/**
 * Code that reads the Functions host's storage (`AzureWebJobsStorage`), not the fleet's: the
 * health check reads the Event Hubs trigger's checkpoints there.
 */
const HOST_STORAGE_FILES = ['shared/adapters/eventhub/FunctionsTriggerCheckpoints.ts'];

/** Settings the Functions host reads, not certfleet (AZURE-FACTS.md, "Host storage by identity"). */
const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Settings whose value is a key or holds one. */
const SECRET_SETTINGS = [
  'FleetStorage',
  'IotHubEvents',
  'IotHub',
  'AzureWebJobsStorage',
  'CERTFLEET_ALERT_WEBHOOK_SECRET',
  'CERTFLEET_ALERT_EVENTGRID_KEY',
];

describe('the template sets every setting the code needs, each by identity', () => {
  const read = settingsTheCodeReads();
  const set = templateSettings();
  const optional = firstColumnNames(
    markdownSection('docs/deploy.md', 'Settings left at their defaults'),
    new RegExp(SETTING_NAME.source),
  );

  it('finds the settings in the code and in the template', () => {
    expect(read.size).toBeGreaterThan(40);
    expect(read).toContain('CERTFLEET_STORAGE_PREFIX');
    expect(read).toContain('CERTFLEET_EVENTHUB_CONSUMER_GROUP');
    expect(set.size).toBeGreaterThan(15);
  });

  it('sets or documents as optional every setting the code reads', () => {
    const neither = [...read].filter((name) => !set.has(name) && !optional.has(name));
    expect(neither).toEqual([]);
  });

  it('documents as optional only settings the template leaves unset and the code reads', () => {
    expect([...optional].filter((name) => set.has(name))).toEqual([]);
    expect([...optional].filter((name) => !read.has(name))).toEqual([]);
  });

  it('sets only settings the code or the Functions host reads', () => {
    expect(
      [...set.keys()].filter((name) => !read.has(name) && !HOST_SETTINGS.includes(name)),
    ).toEqual([]);
  });

  it('sets no secret: no key setting, no connection string, no key read by the template', () => {
    expect([...set.keys()].filter((name) => SECRET_SETTINGS.includes(name))).toEqual([]);
    for (const file of files) {
      expect({
        file: file.path,
        listsKeys: /\blist\w*keys\b|listConnectionStrings|listSecrets/i.test(file.text),
      }).toEqual({
        file: file.path,
        listsKeys: false,
      });
      expect({ file: file.path, secure: /@secure\(\)/.test(file.text) }).toEqual({
        file: file.path,
        secure: false,
      });
    }
    for (const [label, given] of DEPLOYMENTS) {
      for (const [name, value] of Object.entries(deployedSettings(given))) {
        expect({
          label,
          name,
          keyed: /AccountKey=|SharedAccessKey|SharedAccessSignature|[?&]sig=/i.test(value),
        }).toEqual({
          label,
          name,
          keyed: false,
        });
      }
    }
  });

  it.each(DEPLOYMENTS)(
    'loads, as deployed with %s, into identity-based connections',
    (_label, given) => {
      const env = deployedSettings(given);
      const settings = loadSettings(env);
      expect(settings.storage).toMatchObject({
        kind: 'identity',
        credential: 'managedidentity',
        clientId: 'client-of:appIdentity',
      });
      expect(settings.iotHub?.hubs).toEqual([
        expect.objectContaining({ auth: { kind: 'entra-id' } }),
      ]);
      expect(settings.iotHub?.credential).toEqual({
        kind: 'managedidentity',
        clientId: 'client-of:appIdentity',
      });
      expect(settings.iotHub?.endpoint).toBeUndefined();
      expect(settings.checkpointKey).toEqual({
        kind: 'key-vault',
        keyId: expect.stringMatching(/^https:\/\/.+\.vault\.azure\.net\/keys\/[\w-]+$/),
        clientId: 'client-of:appIdentity',
      });
      expect(settings.alerts.eventGrid).toEqual({
        endpoint: expect.stringMatching(/^https:\/\/.+\.eventgrid\.azure\.net\/api\/events$/),
        auth: {
          kind: 'identity',
          credential: 'managedidentity',
          clientId: 'client-of:appIdentity',
        },
      });
      expect(loadEventHubSettings(env)).toEqual({
        connection: {
          kind: 'identity',
          fullyQualifiedNamespace: expect.stringMatching(/\.servicebus\.windows\.net$/),
          credential: 'managedidentity',
          clientId: 'client-of:appIdentity',
        },
        eventHubName: 'iothub-events',
        consumerGroup: 'certfleet',
      });
      expect(loadCheckpointKeySettings(env)?.kind).toBe('key-vault');
    },
  );

  it('reaches the hub the deployment names', () => {
    expect(
      loadSettings(deployedSettings(EXISTING_HUB)).iotHub?.hubs.map((h) => h.hostName),
    ).toEqual(['contoso-hub.azure-devices.net']);
    expect(loadSettings(deployedSettings(CREATE_HUB)).iotHub?.hubs.map((h) => h.hostName)).toEqual([
      expect.stringMatching(/^iot-certfleet-\w+\.azure-devices\.net$/),
    ]);
  });

  it('reads settings in shared/config only (and the entry points that hand them over)', () => {
    const readers = sourceFiles('shared', 'functions')
      .filter((f) => /process\.env\b/.test(f.text))
      .map((f) => f.path)
      .filter((path) => !path.startsWith('shared/config/') && !path.startsWith('shared/local/'));
    expect(readers.sort()).toEqual([...ENVIRONMENT_READERS].sort());
  });
});

describe('every trigger connection resolves to identity-based settings', () => {
  const set = templateSettings();

  it.each(eventHubTriggers.map((t) => [t.name, t.options] as const))(
    '%s: its connection by namespace and managed identity, its %%names%% set',
    (_name, options) => {
      const connection = String(options.connection);
      expect(set.has(connection)).toBe(false);
      expect(set.has(`${connection}__fullyQualifiedNamespace`)).toBe(true);
      expect(set.get(`${connection}__credential`)).toBe("'managedidentity'");
      expect(set.has(`${connection}__clientId`)).toBe(true);
      for (const value of [options.eventHubName, options.consumerGroup]) {
        const named = /^%(\w+)%$/.exec(String(value));
        if (named) expect(set.has(String(named[1]))).toBe(true);
      }
    },
  );

  it('runs the host on its storage by identity (trigger checkpoints, timer locks)', () => {
    expect(set.has('AzureWebJobsStorage')).toBe(false);
    expect(
      set.has('AzureWebJobsStorage__accountName') || set.has('AzureWebJobsStorage__blobServiceUri'),
    ).toBe(true);
    expect(set.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(set.has('AzureWebJobsStorage__clientId')).toBe(true);
  });

  it('names the user-assigned identity in every __clientId setting', () => {
    const env = deployedSettings(CREATE_HUB);
    const clientIds = Object.entries(env).filter(([name]) => /(__clientId|_CLIENT_ID)$/.test(name));
    expect(clientIds.length).toBeGreaterThanOrEqual(6);
    for (const [name, value] of clientIds)
      expect({ name, value }).toEqual({ name, value: 'client-of:appIdentity' });
  });
});

/** One role assignment as deployed: to whom, which role, on what. */
interface Grant {
  file: string;
  symbol: string;
  principal: string;
  role: string;
  scopeType: string;
  scopeName: string;
  comments: string[];
}

function grants(given: Record<string, string>): Grant[] {
  const values = new TemplateValues(files, MAIN, given, AZURE_VALUES);
  const deployed = (file: BicepFile) => {
    // A module deployed on a condition (the hub only in create mode) deploys nothing otherwise.
    const callers = files.flatMap(modulesOf).filter((m) => m.target === file.path);
    return (
      file.path === MAIN ||
      callers.some((m) => m.condition === undefined || values.isTrue(m.file, m.condition))
    );
  };
  const out: Grant[] = [];
  for (const file of files.filter(deployed)) {
    const own = resourcesOf(file);
    for (const r of own.filter((x) => x.type === 'Microsoft.Authorization/roleAssignments')) {
      if (r.condition !== undefined && !values.isTrue(file.path, r.condition)) continue;
      const p = propertiesOf(r.body);
      const scopeSymbol = String(p.get('scope'));
      const scope = own.find((x) => x.symbol === scopeSymbol);
      if (!scope)
        throw new Error(
          `${file.path} ${r.symbol}: scope ${scopeSymbol} is not a resource of the file`,
        );
      out.push({
        file: file.path,
        symbol: r.symbol,
        principal: values.valueOf(file.path, String(propertyAt(r.body, 'properties.principalId'))),
        role: values.valueOf(file.path, String(propertyAt(r.body, 'properties.roleDefinitionId'))),
        scopeType: scope.type,
        scopeName: values.valueOf(file.path, String(propertiesOf(scope.body).get('name'))),
        comments: r.comments,
      });
    }
  }
  return out;
}

/** What a role allows: a built-in role by id, or a custom role the template defines. */
function permissionsOf(
  role: string,
  given: Record<string, string>,
): { actions: string[]; dataActions: string[] } {
  const id = role.replace(/^role:/, '');
  const builtIn = BUILT_IN_ROLES.find((r) => r.id === id);
  if (builtIn) return builtIn;
  const values = new TemplateValues(files, MAIN, given, AZURE_VALUES);
  for (const file of files) {
    for (const r of resourcesOf(file).filter(
      (x) => x.type === 'Microsoft.Authorization/roleDefinitions',
    )) {
      if (values.valueOf(file.path, String(propertiesOf(r.body).get('name'))) !== id) continue;
      const permissions = arrayItems(String(propertyAt(r.body, 'properties.permissions')));
      const list = (key: string) =>
        permissions.flatMap((block) => {
          const written = propertiesOf(unwrap(block) ?? '').get(key) ?? '[]';
          const items = written.startsWith('[')
            ? arrayItems(written)
            : arrayItems(variables(file).get(written) ?? '[]');
          return items.map((item) => values.valueOf(file.path, item));
        });
      return { actions: list('actions'), dataActions: list('dataActions') };
    }
  }
  throw new Error(`role ${id} is neither a known built-in role nor defined by the template`);
}

function granted(grant: Grant, permission: Permission, given: Record<string, string>): boolean {
  const role = permissionsOf(grant.role, given);
  const list = permission.kind === 'dataAction' ? role.dataActions : role.actions;
  return list.some((pattern) => allows(pattern, permission.name));
}

describe('every Azure call the code makes is allowed by a role the template grants', () => {
  const code = sourceFiles('shared', 'functions').filter(
    (f) => !f.path.startsWith('shared/local/') && !f.path.startsWith('shared/simulation/'),
  );
  const calls = sdkCallsInCode(code);
  const routes = iotHubRoutesInCode(code);

  it('finds the calls: tables, blobs, Key Vault, Event Grid, Event Hubs and the IoT Hub routes', () => {
    expect(new Set(calls.map((c) => c.module))).toEqual(new Set(SDK_CATALOGS.map((c) => c.module)));
    expect(new Set(routes.map((r) => r.route))).toEqual(new Set(Object.keys(IOT_HUB_ROUTES)));
  });

  it('knows every Azure SDK the code imports: each is a catalog of calls, or makes none of its own', () => {
    const unknown = [...azurePackagesImported(code)].filter(
      ([name]) =>
        !SDK_CATALOGS.some((c) => c.module === name) &&
        !AZURE_PACKAGES_WITHOUT_CALLS.includes(name),
    );
    expect(unknown).toEqual([]);
  });

  it('knows the permission every call needs', () => {
    const unknown = calls.filter(
      (c) => SDK_CATALOGS.find((k) => k.module === c.module)?.calls[c.method] === undefined,
    );
    expect(unknown).toEqual([]);
    expect(routes.filter((r) => IOT_HUB_ROUTES[r.route] === undefined)).toEqual([]);
  });

  describe.each(DEPLOYMENTS)('deployed with %s', (_label, given) => {
    const env = deployedSettings(given);
    const app = 'principal-of:appIdentity';
    const appGrants = grants(given).filter((g) => g.principal === app);
    const fleetAccount = new URL(String(env.FleetStorage__blobServiceUri)).hostname.split('.')[0];
    const hub = String(env.IotHub__fullyQualifiedName).split('.')[0];
    /** Where each SDK's calls go, as the settings name it. */
    const hostAccount = env.AzureWebJobsStorage__accountName;
    const target = (resourceType: string, file: string): ((g: Grant) => boolean) => {
      if (resourceType === 'Microsoft.Storage/storageAccounts') {
        const account = HOST_STORAGE_FILES.includes(file) ? hostAccount : fleetAccount;
        return (g) => g.scopeType.startsWith(resourceType) && g.scopeName === account;
      }
      if (resourceType === 'Microsoft.EventHub/namespaces')
        return (g) =>
          g.scopeType.startsWith(resourceType) && g.scopeName === env.CERTFLEET_EVENTHUB_NAME;
      return (g) => g.scopeType.startsWith(resourceType);
    };

    it('allows each SDK call on the resource the settings send it to', () => {
      const missing: string[] = [];
      for (const call of calls) {
        const catalog = SDK_CATALOGS.find((k) => k.module === call.module);
        for (const permission of catalog?.calls[call.method] ?? []) {
          const on = appGrants.filter(target(String(catalog?.resourceType), call.file));
          if (!on.some((g) => granted(g, permission, given)))
            missing.push(`${call.file}: ${call.method} needs ${permission.name}`);
        }
      }
      expect([...new Set(missing)]).toEqual([]);
    });

    it('allows each IoT Hub route on the hub the settings name', () => {
      const on = appGrants.filter(
        (g) => g.scopeType === 'Microsoft.Devices/IotHubs' && g.scopeName === hub,
      );
      expect(on.length).toBeGreaterThan(0);
      for (const { route } of routes) {
        const needed: Permission = { kind: 'dataAction', name: String(IOT_HUB_ROUTES[route]) };
        expect({ route, allowed: on.some((g) => granted(g, needed, given)) }).toEqual({
          route,
          allowed: true,
        });
      }
    });

    it('lets the Functions host read its trigger and keep its state by identity', () => {
      const hostAccount = env.AzureWebJobsStorage__accountName;
      const host = appGrants.filter(
        (g) => g.scopeType === 'Microsoft.Storage/storageAccounts' && g.scopeName === hostAccount,
      );
      // Checkpoints, leases, timer locks, keys and the deployment package are blobs the host
      // creates and rewrites, in containers it creates.
      for (const needed of [
        {
          kind: 'dataAction',
          name: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
        },
        {
          kind: 'dataAction',
          name: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
        },
        { kind: 'action', name: 'Microsoft.Storage/storageAccounts/blobServices/containers/write' },
      ] as Permission[]) {
        expect({
          needed: needed.name,
          allowed: host.some((g) => granted(g, needed, given)),
        }).toEqual({
          needed: needed.name,
          allowed: true,
        });
      }
      const receive: Permission = {
        kind: 'dataAction',
        name: 'Microsoft.EventHub/namespaces/messages/receive/action',
      };
      expect(
        appGrants
          .filter(target('Microsoft.EventHub/namespaces', ''))
          .some((g) => granted(g, receive, given)),
      ).toBe(true);
      const publish: Permission = {
        kind: 'dataAction',
        name: 'Microsoft.Insights/Telemetry/Write',
      };
      expect(
        appGrants
          .filter((g) => g.scopeType === 'Microsoft.Insights/components')
          .some((g) => granted(g, publish, given)),
      ).toBe(true);
    });

    it('lets the IoT hub’s routing identity, and only it, send to the Event Hub', () => {
      const send: Permission = {
        kind: 'dataAction',
        name: 'Microsoft.EventHub/namespaces/messages/send/action',
      };
      const routing = grants(given).filter((g) => g.principal === 'principal-of:routingIdentity');
      expect(
        routing.some(
          (g) =>
            g.scopeType.startsWith('Microsoft.EventHub/namespaces') &&
            g.scopeName === env.CERTFLEET_EVENTHUB_NAME &&
            granted(g, send, given),
        ),
      ).toBe(true);
      expect(appGrants.some((g) => granted(g, send, given))).toBe(false);
    });

    it('grants the app nothing that writes devices, twins or configuration on the hub', () => {
      if (given.iotHubRoleMode === 'builtin') return; // IoT Hub Data Contributor: the documented trade-off
      const on = appGrants.filter((g) => g.scopeType === 'Microsoft.Devices/IotHubs');
      for (const write of [
        'Microsoft.Devices/IotHubs/devices/write',
        'Microsoft.Devices/IotHubs/twins/write',
        'Microsoft.Devices/IotHubs/configurations/write',
      ]) {
        expect({
          write,
          allowed: on.some((g) => granted(g, { kind: 'dataAction', name: write }, given)),
        }).toEqual({
          write,
          allowed: false,
        });
      }
    });
  });

  it('says above every role assignment which call needs it', () => {
    const bare = resources
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .filter((r) => r.comments.join(' ').length < 40)
      .map((r) => `${r.file}: ${r.symbol}`);
    expect(bare).toEqual([]);
  });

  it('uses the same built-in role ids everywhere, each one Microsoft publishes', () => {
    for (const file of files) {
      const roles = variables(file).get('roles');
      if (!roles) continue;
      for (const [name, id] of propertiesOf(unwrap(roles) ?? '')) {
        const known = BUILT_IN_ROLES.find((r) => r.bicepName === name);
        expect({ file: file.path, name, id: id.replace(/'/g, '') }).toEqual({
          file: file.path,
          name,
          id: known?.id,
        });
      }
    }
  });
});

describe('the tables and containers the code writes are the ones the template creates', () => {
  const values = new TemplateValues(files, MAIN, CREATE_HUB, AZURE_VALUES);
  const created = (type: string) =>
    new Set(
      resources
        .filter((r) => r.type === type)
        .map((r) => values.valueOf(r.file, String(propertiesOf(r.body).get('name')))),
    );

  /** The names the services ask StorageClients for, with every feature configured. */
  function namesTheCodeUses(): { tables: Set<string>; containers: Set<string> } {
    const tables = new Set<string>();
    const containers = new Set<string>();
    const table = jest.spyOn(StorageClients.prototype, 'table');
    const container = jest.spyOn(StorageClients.prototype, 'container');
    try {
      buildServices(loadSettings(deployedSettings(CREATE_HUB)));
      for (const [name] of table.mock.calls) tables.add(name);
      for (const [name] of container.mock.calls) containers.add(name);
    } finally {
      table.mockRestore();
      container.mockRestore();
    }
    // Names built elsewhere from the prefix (`certfleet listen` names its checkpoint container
    // itself, shared/cli/listen.ts): `${…prefix}-name` is a container, `${…prefix}name` a table.
    for (const file of sourceFiles('shared', 'functions').filter(
      (f) => !f.path.startsWith('shared/local/') && !f.path.startsWith('shared/simulation/'),
    )) {
      for (const m of file.text.matchAll(/`\$\{[\w.]*[pP]refix\}(-?)([a-z]+)`/g)) {
        if (m[1] === '-') containers.add(`certfleet-${m[2]}`);
        else tables.add(`certfleet${m[2]}`);
      }
    }
    return { tables, containers };
  }

  const used = namesTheCodeUses();
  /** Tables of ledgers of earlier releases: read through and dropped, never created. */
  const legacy = ['certfleetdevices', 'certfleetdue'];

  it('finds the names the code uses', () => {
    expect(used.tables).toContain('certfleetledger');
    expect(used.containers).toContain('certfleet-audit');
    expect(used.containers).toContain('certfleet-checkpoints');
  });

  it('creates every table the code writes', () => {
    const tables = created('Microsoft.Storage/storageAccounts/tableServices/tables');
    expect([...used.tables].filter((t) => !tables.has(t) && !legacy.includes(t))).toEqual([]);
    expect([...tables].filter((t) => !used.tables.has(t))).toEqual([]);
  });

  it('never creates the earlier releases’ tables, which the code only reads and drops', () => {
    const tables = created('Microsoft.Storage/storageAccounts/tableServices/tables');
    for (const name of legacy) expect(tables).not.toContain(name);
    const legacyAdapter = readFileSync(
      join(REPO, 'shared/adapters/storage/LegacyLedgerTables.ts'),
      'utf8',
    );
    expect(legacyAdapter).not.toMatch(
      /\.(createTable|createEntity|upsertEntity|updateEntity|submitTransaction)\(/,
    );
  });

  it('creates every container the code writes, and only those (besides the deployment package)', () => {
    const containers = created('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect([...used.containers].filter((c) => !containers.has(c))).toEqual([]);
    const extra = [...containers].filter((c) => !used.containers.has(c));
    expect(extra).toHaveLength(1); // the Flex Consumption deployment container, in host storage
    expect(
      resources.find(
        (r) =>
          r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' &&
          values.valueOf(r.file, String(propertiesOf(r.body).get('name'))) === extra[0],
      )?.file,
    ).toBe('infra/modules/hostStorage.bicep');
  });

  it('keeps the audit trail, its checkpoints and the reports under a time-based retention policy', () => {
    const policies = resources.filter(
      (r) =>
        r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies',
    );
    const protectedContainers = policies.map((p) => {
      const parent = resources.find(
        (r) => r.file === p.file && r.symbol === propertiesOf(p.body).get('parent'),
      );
      return values.valueOf(p.file, String(parent && propertiesOf(parent.body).get('name')));
    });
    expect(protectedContainers.sort()).toEqual([
      'certfleet-audit',
      'certfleet-auditcheckpoints',
      'certfleet-reports',
    ]);
    // The trail is append blobs: without protected append writes certfleet could not append.
    const audit = policies.find((p) => propertiesOf(p.body).get('parent') === 'auditContainer');
    expect(propertyAt(audit?.body ?? '', 'properties.allowProtectedAppendWrites')).toBe('true');
    // Unlocked: the template never locks (docs/deploy.md says how and when to).
    for (const p of policies) expect(p.body).not.toMatch(/\block\b|Locked/);
  });
});

describe('the template keeps every resource on identity', () => {
  const byType = (type: string) => resources.filter((r) => r.type === type && !r.existing);

  it('turns shared keys off on every storage account', () => {
    const accounts = byType('Microsoft.Storage/storageAccounts');
    expect(accounts).toHaveLength(2);
    for (const a of accounts)
      expect({ a: a.symbol, v: propertyAt(a.body, 'properties.allowSharedKeyAccess') }).toEqual({
        a: a.symbol,
        v: 'false',
      });
  });

  it.each([
    ['Microsoft.EventHub/namespaces', 'properties.disableLocalAuth'],
    ['Microsoft.EventGrid/topics', 'properties.disableLocalAuth'],
    ['Microsoft.Insights/components', 'properties.DisableLocalAuth'],
    ['Microsoft.Devices/IotHubs', 'properties.disableLocalAuth'],
  ])('turns local (key) authentication off on %s', (type, path) => {
    const found = byType(type);
    expect(found.length).toBeGreaterThan(0);
    for (const r of found) expect(propertyAt(r.body, path)).toBe('true');
  });

  it('authorizes Key Vault by RBAC, not access policies', () => {
    for (const r of byType('Microsoft.KeyVault/vaults'))
      expect(propertyAt(r.body, 'properties.enableRbacAuthorization')).toBe('true');
  });

  it('routes the hub to the Event Hub with its identity, for the three sources certfleet reads', () => {
    const hub = byType('Microsoft.Devices/IotHubs')[0] as BicepResource;
    const endpoints = arrayItems(
      String(propertyAt(hub.body, 'properties.routing.endpoints.eventHubs')),
    );
    expect(endpoints).toHaveLength(1);
    expect(propertiesOf(unwrap(endpoints[0] ?? '') ?? '').get('authenticationType')).toBe(
      "'identityBased'",
    );
    const sources = arrayItems(String(propertyAt(hub.body, 'properties.routing.routes'))).map(
      (route) => propertiesOf(unwrap(route) ?? '').get('source'),
    );
    expect(sources.sort()).toEqual([
      "'DeviceConnectionStateEvents'",
      "'DeviceLifecycleEvents'",
      "'TwinChangeEvents'",
    ]);
  });

  it('runs the app on Flex Consumption with the Node version package.json supports', () => {
    const plan = byType('Microsoft.Web/serverfarms')[0] as BicepResource;
    expect(propertyAt(plan.body, 'sku.tier')).toBe("'FlexConsumption'");
    const app = byType('Microsoft.Web/sites')[0] as BicepResource;
    expect(propertyAt(app.body, 'properties.functionAppConfig.runtime.name')).toBe("'node'");
    const values = new TemplateValues(files, MAIN, CREATE_HUB, AZURE_VALUES);
    const version = values.valueOf(
      app.file,
      String(propertyAt(app.body, 'properties.functionAppConfig.runtime.version')),
    );
    const engines = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).engines
      .node as string;
    const [low, high] = [...engines.matchAll(/\d+/g)].map((m) => Number(m[0]));
    expect(Number(version)).toBeGreaterThanOrEqual(Number(low));
    expect(Number(version)).toBeLessThan(Number(high));
    // Flex Consumption refuses the worker-runtime settings of the other plans.
    for (const name of [
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_NODE_DEFAULT_VERSION',
    ])
      expect(templateSettings().has(name)).toBe(false);
  });
});

describe('the alert rules watch log lines the code writes', () => {
  const rules = resources.filter((r) => r.type === 'Microsoft.Insights/scheduledQueryRules');
  const code = sourceFiles('shared', 'functions').filter(
    (f) => !f.path.startsWith('shared/local/') && !f.path.startsWith('shared/simulation/'),
  );
  const queries = rules.map((r) => ({
    rule: r.symbol,
    query: String(/query:\s*'''([\s\S]*?)'''/.exec(r.body)?.[1]),
  }));
  /** The constant a prefix is written in (`export const X = 'PREFIX'`), and its file. */
  const constantOf = (prefix: string) => {
    for (const file of code) {
      const m = new RegExp(`export const (\\w+) = '${prefix}';`).exec(file.text);
      if (m) return { name: String(m[1]), file };
    }
    return undefined;
  };

  it('has a scheduled query rule for each documented alert, sent to the action group', () => {
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const r of rules) expect(propertyAt(r.body, 'properties.actions')).toMatch(/actionGroup/i);
  });

  it('matches each prefix exactly as the code writes it, with the JSON fields the query reads', () => {
    const checked: string[] = [];
    for (const { rule, query } of queries) {
      for (const m of query.matchAll(/startswith "(CERTFLEET_[A-Z_]+)( \{)?"/g)) {
        const prefix = String(m[1]);
        const constant = constantOf(prefix);
        expect({ rule, prefix, constant: constant?.name }).toEqual({
          rule,
          prefix,
          constant: expect.any(String),
        });
        if (!constant) continue;
        if (m[2]) {
          // The line is written `${PREFIX} ${JSON.stringify(…)}` where the query parses JSON.
          const json = new RegExp(`\\$\\{${constant.name}\\} \\$\\{JSON\\.stringify\\(`);
          expect({ rule, prefix, json: json.test(constant.file.text) }).toEqual({
            rule,
            prefix,
            json: true,
          });
          // Each field the query reads (`x.field`, `x["field"]`) is a key where the line is built.
          const fields = [...query.matchAll(/\b[a-z]\.(\w+)\b|\b[a-z]\["(\w+)"\]/g)].map((f) =>
            String(f[1] ?? f[2]),
          );
          for (const field of fields) {
            const written = new RegExp(`\\b${field}\\b\\s*[:,}]`).test(constant.file.text);
            expect({ rule, prefix, field, written }).toEqual({
              rule,
              prefix,
              field,
              written: true,
            });
          }
        }
        // A rule on errors only sees the prefix if the code logs it as an error.
        if (/SeverityLevel\s*>=\s*3/.test(query)) {
          const asError = new RegExp(`\\.error\\(\\s*\`\\$\\{${constant.name}\\}`);
          expect({ rule, prefix, asError: asError.test(constant.file.text) }).toEqual({
            rule,
            prefix,
            asError: true,
          });
        }
        checked.push(prefix);
      }
    }
    expect(new Set(checked).size).toBeGreaterThanOrEqual(5);
  });

  it('keeps every log line: Application Insights samples no traces the rules count', () => {
    const host = JSON.parse(readFileSync(join(REPO, 'host.json'), 'utf8'));
    const sampling = host.logging?.applicationInsights?.samplingSettings ?? {};
    const excluded = String(sampling.excludedTypes ?? '').split(';');
    expect(sampling.isEnabled === false || excluded.includes('Trace')).toBe(true);
  });
});

describe('azure.yaml deploys the app with its hooks', () => {
  const yaml = readFileSync(join(REPO, 'azure.yaml'), 'utf8');

  it('names one Functions service built from the repository root', () => {
    expect(yaml).toMatch(/^services:\s*\n\s+api:\s*\n(?:\s+.*\n)*?\s+host: function\s*$/m);
    expect(yaml).toMatch(/language: (ts|js)/);
    expect(readFileSync(join(REPO, 'infra/modules/functionApp.bicep'), 'utf8')).toContain(
      "'azd-service-name': 'api'",
    );
  });

  it('runs hooks that exist', () => {
    const hooks = [...yaml.matchAll(/run: (\S+)/g)].map((m) => String(m[1]));
    expect(hooks.length).toBeGreaterThan(0);
    for (const hook of hooks)
      expect({ hook, exists: existsSync(join(REPO, hook)) }).toEqual({ hook, exists: true });
  });

  it('fills every required template parameter from the azd environment', () => {
    const parameters = JSON.parse(readFileSync(join(REPO, 'infra/main.parameters.json'), 'utf8'))
      .parameters as Record<string, unknown>;
    const main = files.find((f) => f.path === MAIN) as BicepFile;
    const required = [...main.text.matchAll(/^param\s+(\w+)\s+\w+\s*$/gm)].map((m) => String(m[1]));
    expect(required.filter((name) => !(name in parameters))).toEqual([]);
  });
});
