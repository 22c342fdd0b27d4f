import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, outputs, readBicepFiles } from './bicepText';
import { AzureValue, TemplateValues } from './templateValues';

/**
 * The azd hooks that route an existing IoT hub (infra/hooks/*.sh), run with `sh` against a
 * stand-in Azure CLI (test/fixtures/fake-az.js) that keeps the hub in a file. The settings they
 * read are the ones main.bicep outputs for an environment, computed from the template's text, so
 * the names the template gives and the names the hooks use cannot drift apart. The PowerShell
 * twins (.ps1) are not run here: no pwsh where the tests run.
 */

const HOOKS = join(REPO, 'infra', 'hooks');
const ROUTE = join(HOOKS, 'route-existing-hub.sh');
const UNROUTE = join(HOOKS, 'unroute-existing-hub.sh');
const FAKE_AZ = join(REPO, 'test', 'fixtures', 'fake-az.js');
const SUBSCRIPTION = '00000000-0000-0000-0000-00000000c0de';
const PROPAGATING =
  "ERROR: (BadRequest) Unauthorized access. 'Send' claim(s) are required to perform this operation.";

/** What Azure gives for the expressions only Azure resolves, different for each environment. */
const AZURE_VALUES: AzureValue[] = [
  [
    /^uniqueString\((.*)\)$/s,
    (m, valueOf) =>
      createHash('sha256')
        .update(String(m[1]).split(',').map(valueOf).join('|'))
        .digest('hex')
        .slice(0, 13),
  ],
  [/^subscription\(\)\.id$/, () => `/subscriptions/${SUBSCRIPTION}`],
  [
    /^(\w+)\.id$/,
    (m, valueOf) =>
      `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${valueOf(`${m[1]}.name`)}`,
  ],
];

/** The outputs the hooks read, as `azd provision` leaves them in the environment. */
function environmentOf(given: Record<string, string>): Record<string, string> {
  const files = readBicepFiles();
  const main = files.find((f) => f.path === 'infra/main.bicep');
  if (!main) throw new Error('no infra/main.bicep');
  const values = new TemplateValues(files, 'infra/main.bicep', given, AZURE_VALUES);
  const env: Record<string, string> = { AZURE_SUBSCRIPTION_ID: SUBSCRIPTION };
  for (const [name, expression] of outputs(main)) {
    if (!HOOK_SETTINGS.has(name)) continue;
    env[name] = values.valueOf('infra/main.bicep', expression);
  }
  return env;
}

/** The environment variables the hooks read: `${NAME…}` in sh, Get-Setting 'NAME' in PowerShell. */
const HOOK_SETTINGS = new Set(
  readdirSync(HOOKS).flatMap((file) => {
    const text = readFileSync(join(HOOKS, file), 'utf8');
    return [
      ...[...text.matchAll(/\$\{([A-Z][A-Z0-9_]+)[:?}]/g)].map((m) => String(m[1])),
      ...[...text.matchAll(/Get-(?:Required)?Setting '([A-Z][A-Z0-9_]+)'/g)].map((m) =>
        String(m[1]),
      ),
    ];
  }),
);

const STAGING = {
  environmentName: 'certfleet-staging',
  location: 'westeurope',
  alertEmail: 'ops@contoso.example',
  iotHubMode: 'existing',
  existingIotHubName: 'contoso-hub',
  existingIotHubResourceGroup: 'rg-iot',
};
const PROD = { ...STAGING, environmentName: 'certfleet-prod' };

interface Endpoint {
  name: string;
  endpointUri: string;
  entityPath: string;
  authenticationType: string;
  identity: string | null;
  resourceGroup?: string;
}
interface Route {
  name: string;
  source: string;
  endpointNames: string[];
  condition: string;
  isEnabled: boolean;
}
interface Hub {
  resourceGroup: string;
  identities: string[];
  endpoints: Endpoint[];
  routes: Route[];
}
interface State {
  subscription: string;
  hubs: Record<string, Hub>;
  failures?: { command: string; times: number; stderr: string; exitCode?: number }[];
  eventHubSenders?: string[];
  defaultSubscriptionChanged?: string;
}

/** Someone else's routing on the shared hub, which the hooks must leave alone. */
const FOREIGN_ENDPOINT: Endpoint = {
  name: 'telemetry-archive',
  endpointUri: 'sb://archive.servicebus.windows.net',
  entityPath: 'telemetry',
  authenticationType: 'identityBased',
  identity:
    '/subscriptions/other/resourceGroups/rg-archive/providers/Microsoft.ManagedIdentity/userAssignedIdentities/archive',
};
const FOREIGN_ROUTE: Route = {
  name: 'telemetry-archive',
  source: 'DeviceMessages',
  endpointNames: ['telemetry-archive'],
  condition: 'true',
  isEnabled: true,
};

class FakeAzure {
  readonly dir = mkdtempSync(join(tmpdir(), 'certfleet-hooks-'));
  private readonly statePath = join(this.dir, 'state.json');
  private readonly logPath = join(this.dir, 'az.log');
  private readonly sleepPath = join(this.dir, 'sleep.log');

  constructor(state: Partial<State> = {}) {
    const bin = join(this.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'az'), `#!/bin/sh\nexec "${process.execPath}" "${FAKE_AZ}" "$@"\n`, {
      mode: 0o755,
    });
    // The hooks wait between attempts with sleep(1): recorded here, not waited.
    writeFileSync(join(bin, 'sleep'), `#!/bin/sh\necho "$*" >> "${this.sleepPath}"\n`, {
      mode: 0o755,
    });
    this.state = {
      subscription: SUBSCRIPTION,
      hubs: {
        'contoso-hub': {
          resourceGroup: 'rg-iot',
          identities: [String(FOREIGN_ENDPOINT.identity)],
          endpoints: [FOREIGN_ENDPOINT],
          routes: [FOREIGN_ROUTE],
        },
      },
      ...state,
    };
  }

  get state(): State {
    return JSON.parse(readFileSync(this.statePath, 'utf8')) as State;
  }

  set state(value: State) {
    writeFileSync(this.statePath, JSON.stringify(value, null, 2));
  }

  hub(): Hub {
    return this.state.hubs['contoso-hub'] as Hub;
  }

  update(change: (state: State) => void): void {
    const state = this.state;
    change(state);
    this.state = state;
  }

  run(hook: string, env: Record<string, string>) {
    writeFileSync(this.logPath, '');
    writeFileSync(this.sleepPath, '');
    const result = spawnSync('sh', [hook], {
      encoding: 'utf8',
      env: {
        PATH: `${join(this.dir, 'bin')}:/usr/bin:/bin`,
        HOME: this.dir,
        TMPDIR: this.dir,
        FAKE_AZ_STATE: this.statePath,
        FAKE_AZ_LOG: this.logPath,
        ...env,
      },
    });
    const calls = readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string[]);
    const sleeps = readFileSync(this.sleepPath, 'utf8').split('\n').filter(Boolean);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, sleeps };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The az calls that change the hub. */
const writes = (calls: string[][]) =>
  calls.filter((c) => /\b(create|update|delete|assign|remove)\b/.test(commandOf(c)));
/** The command words, up to the first option: `iot hub message-route delete`. */
const commandOf = (call: string[]) => {
  const first = call.findIndex((w) => w.startsWith('--'));
  return call.slice(0, first < 0 ? call.length : first).join(' ');
};
const option = (call: string[], name: string) => call[call.indexOf(name) + 1];

const ROUTES = [
  ['AZURE_ROUTE_TWIN_CHANGES_NAME', 'TwinChangeEvents'],
  ['AZURE_ROUTE_DEVICE_LIFECYCLE_NAME', 'DeviceLifecycleEvents'],
  ['AZURE_ROUTE_CONNECTION_STATE_NAME', 'DeviceConnectionStateEvents'],
] as const;

/** The routing this environment needs, as the hub reports it. */
function routingOf(env: Record<string, string>): { endpoint: Endpoint; routes: Route[] } {
  const endpoint = String(env.AZURE_ROUTING_ENDPOINT_NAME);
  return {
    endpoint: {
      name: endpoint,
      endpointUri: `sb://${env.AZURE_EVENTHUB_NAMESPACE_HOST}`,
      entityPath: String(env.CERTFLEET_EVENTHUB_NAME),
      authenticationType: 'identityBased',
      identity: String(env.AZURE_ROUTING_IDENTITY_ID),
      resourceGroup: String(env.AZURE_RESOURCE_GROUP),
    },
    routes: ROUTES.map(([name, source]) => ({
      name: String(env[name]),
      source,
      endpointNames: [endpoint],
      condition: 'true',
      isEnabled: true,
    })),
  };
}

describe('the hooks read only what the template outputs or azd sets', () => {
  it('finds every setting they read among main.bicep outputs, azd’s own and the parameters', () => {
    const main = readBicepFiles().find((f) => f.path === 'infra/main.bicep');
    const outputNames = new Set(outputs(main ?? { path: '', text: '' }).keys());
    const azd = ['AZURE_SUBSCRIPTION_ID', 'IOTHUB_MODE', 'TMPDIR'];
    expect(HOOK_SETTINGS.size).toBeGreaterThan(5);
    expect([...HOOK_SETTINGS].filter((n) => !outputNames.has(n) && !azd.includes(n))).toEqual([]);
  });

  it('has the PowerShell twins read the same settings as the sh hooks', () => {
    const read = (ext: string) =>
      new Set(
        readdirSync(HOOKS)
          .filter((f) => f.endsWith(ext))
          .flatMap((f) => [
            ...readFileSync(join(HOOKS, f), 'utf8').matchAll(
              /\$\{([A-Z][A-Z0-9_]+)[:?}]|Get-(?:Required)?Setting '([A-Z][A-Z0-9_]+)'/g,
            ),
          ])
          .map((m) => String(m[1] ?? m[2]))
          .filter((name) => name !== 'TMPDIR'),
      );
    expect([...read('.ps1')].sort()).toEqual([...read('.sh')].sort());
  });

  it('gives staging and prod on one hub their own endpoint and route names', () => {
    const [staging, prod] = [environmentOf(STAGING), environmentOf(PROD)];
    for (const name of [
      'AZURE_ROUTING_ENDPOINT_NAME',
      'AZURE_ROUTE_TWIN_CHANGES_NAME',
      'AZURE_ROUTE_DEVICE_LIFECYCLE_NAME',
      'AZURE_ROUTE_CONNECTION_STATE_NAME',
    ]) {
      expect(staging[name]).toMatch(/^certfleet-[a-z-]+-[0-9a-z]{13}$/);
      expect(staging[name]).not.toEqual(prod[name]);
      // IoT Hub endpoint and route names: at most 64 letters, digits, '-', '_' and '.'.
      expect(String(staging[name])).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    }
  });
});

describe('route-existing-hub.sh (postprovision)', () => {
  let azure: FakeAzure;
  const env = environmentOf(STAGING);
  const wanted = routingOf(env);
  beforeEach(() => {
    azure = new FakeAzure();
  });
  afterEach(() => azure.dispose());

  it('adds the identity, the identity-based endpoint and three routes to a hub that has none', () => {
    const run = azure.run(ROUTE, env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const hub = azure.hub();
    expect(hub.identities).toContain(env.AZURE_ROUTING_IDENTITY_ID);
    expect(hub.endpoints).toEqual([FOREIGN_ENDPOINT, wanted.endpoint]);
    expect(hub.routes).toEqual([FOREIGN_ROUTE, ...wanted.routes]);
    expect(run.sleeps).toEqual([]);
  });

  it('names the subscription on every call to Azure and never changes the default one', () => {
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    const toAzure = run.calls.filter((c) => commandOf(c) !== 'extension add');
    expect(toAzure.length).toBeGreaterThan(5);
    for (const call of toAzure) expect(option(call, '--subscription')).toBe(SUBSCRIPTION);
    expect(run.calls.map(commandOf)).not.toContain('account set');
    expect(azure.state.defaultSubscriptionChanged).toBeUndefined();
  });

  it('changes nothing when run again', () => {
    azure.run(ROUTE, env);
    const before = azure.state;
    const again = azure.run(ROUTE, env);
    expect(again.status).toBe(0);
    expect(writes(again.calls)).toEqual([]);
    expect(azure.state).toEqual(before);
    expect(again.stdout).toContain(`already has the endpoint ${wanted.endpoint.name}`);
  });

  it('brings an endpoint of its name back to this environment’s Event Hub, identity and authentication, saying what differed', () => {
    azure.run(ROUTE, env);
    azure.update((s) => {
      const endpoint = s.hubs['contoso-hub']?.endpoints.find(
        (e) => e.name === wanted.endpoint.name,
      );
      if (!endpoint) throw new Error('no endpoint');
      endpoint.entityPath = 'someone-elses-hub';
      endpoint.endpointUri = 'sb://elsewhere.servicebus.windows.net';
      endpoint.authenticationType = 'keyBased';
      endpoint.identity = null;
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/entityPath is someone-elses-hub, not iothub-events/);
    expect(run.stdout).toMatch(/endpointUri is sb:\/\/elsewhere/);
    expect(run.stdout).toMatch(/authenticationType is keyBased/);
    expect(run.stdout).toMatch(/identity is none/);
    expect(writes(run.calls).map(commandOf)).toEqual(['iot hub message-endpoint update eventhub']);
    expect(azure.hub().endpoints).toEqual([FOREIGN_ENDPOINT, wanted.endpoint]);
  });

  it('brings a route of its name back to its source, endpoint, condition and enabled state', () => {
    azure.run(ROUTE, env);
    azure.update((s) => {
      const route = s.hubs['contoso-hub']?.routes.find((r) => r.name === wanted.routes[1]?.name);
      if (!route) throw new Error('no route');
      route.isEnabled = false;
      route.condition = 'false';
      route.endpointNames = ['telemetry-archive'];
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/it is disabled/);
    expect(run.stdout).toMatch(/endpoints are telemetry-archive/);
    expect(writes(run.calls).map(commandOf)).toEqual(['iot hub message-route update']);
    expect(azure.hub().routes).toEqual([FOREIGN_ROUTE, ...wanted.routes]);
  });

  it('waits while the routing identity’s role propagates, then adds the endpoint', () => {
    azure.update((s) => {
      s.failures = [
        { command: 'iot hub message-endpoint create eventhub', times: 2, stderr: PROPAGATING },
      ];
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    expect(run.sleeps).toEqual(['60', '60']);
    expect(run.stdout).toMatch(/attempt 1 of 6/);
    expect(azure.hub().endpoints).toContainEqual(wanted.endpoint);
  });

  it('gives up after six refused attempts, saying what failed and why', () => {
    azure.update((s) => {
      s.eventHubSenders = [];
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(1);
    expect(run.sleeps).toHaveLength(5);
    expect(run.stderr).toContain(
      `adding the endpoint ${wanted.endpoint.name} to contoso-hub failed 6 times`,
    );
    expect(run.stderr).toContain('Azure Event Hubs Data Sender');
    expect(run.stderr).toContain("'Send' claim(s) are required");
    expect(azure.hub().routes).toEqual([FOREIGN_ROUTE]);
  });

  it.each([
    [
      'the caller may not change the hub',
      "ERROR: (AuthorizationFailed) The client 'ops@contoso.example' does not have authorization to perform action 'Microsoft.Devices/IotHubs/write'.",
    ],
    [
      'the caller may not attach the identity',
      "ERROR: (LinkedAuthorizationFailed) The client has permission to perform action 'Microsoft.Devices/IotHubs/write' but does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'.",
    ],
    [
      'the caller’s sign-in is not valid for the tenant',
      'ERROR: (InvalidAuthenticationTokenTenant) Unauthorized: the access token is from the wrong issuer.',
    ],
    ['an argument is wrong', 'ERROR: unrecognized arguments: --entity-path'],
  ])('stops at once, naming the error, when %s', (_case, stderr) => {
    azure.update((s) => {
      s.failures = [{ command: 'iot hub message-endpoint create eventhub', times: 1, stderr }];
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(1);
    expect(run.sleeps).toEqual([]);
    expect(run.stderr).toContain(
      `adding the endpoint ${wanted.endpoint.name} to contoso-hub failed`,
    );
    expect(run.stderr).toContain(stderr.replace('ERROR: ', ''));
  });

  it('stops, naming the hub, when the hub is not there', () => {
    const run = azure.run(ROUTE, { ...env, AZURE_IOTHUB_NAME: 'no-such-hub' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/reading the identities of no-such-hub failed: .*not found/);
    expect(writes(run.calls)).toEqual([]);
  });

  it('does nothing, calling no Azure CLI, when the template created the hub', () => {
    const run = azure.run(ROUTE, { ...environmentOf({ ...STAGING, iotHubMode: 'create' }) });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    expect(run.stdout).toContain('IOTHUB_MODE is create');
  });

  it('leaves another environment’s routing on the same hub as it is', () => {
    const prod = environmentOf(PROD);
    azure.run(ROUTE, prod);
    azure.run(ROUTE, env);
    const hub = azure.hub();
    expect(hub.endpoints).toEqual([FOREIGN_ENDPOINT, routingOf(prod).endpoint, wanted.endpoint]);
    expect(hub.routes).toEqual([FOREIGN_ROUTE, ...routingOf(prod).routes, ...wanted.routes]);
  });

  it('removes what an earlier release named without the environment once it sends to this Event Hub', () => {
    const legacy = { ...wanted.endpoint, name: 'certfleet-events' };
    const legacyRoutes = wanted.routes.map((r) => ({
      ...r,
      name: r.name.replace(/-[0-9a-z]{13}$/, ''),
      endpointNames: ['certfleet-events'],
    }));
    azure.update((s) => {
      const hub = s.hubs['contoso-hub'] as Hub;
      hub.identities.push(String(env.AZURE_ROUTING_IDENTITY_ID));
      hub.endpoints.push(legacy);
      hub.routes.push(...legacyRoutes);
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    expect(azure.hub().endpoints).toEqual([FOREIGN_ENDPOINT, wanted.endpoint]);
    expect(azure.hub().routes).toEqual([FOREIGN_ROUTE, ...wanted.routes]);
  });

  it('leaves an earlier release’s routing alone when it sends to another environment’s Event Hub', () => {
    const theirs = {
      ...wanted.endpoint,
      name: 'certfleet-events',
      entityPath: 'iothub-events',
      endpointUri: 'sb://evhns-certfleet-other.servicebus.windows.net',
    };
    azure.update((s) => {
      s.hubs['contoso-hub']?.endpoints.push(theirs);
    });
    const run = azure.run(ROUTE, env);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("not to this environment's Event Hub: left as it is");
    expect(azure.hub().endpoints).toContainEqual(theirs);
  });
});

describe('unroute-existing-hub.sh (predown)', () => {
  let azure: FakeAzure;
  const env = environmentOf(STAGING);
  beforeEach(() => {
    azure = new FakeAzure();
  });
  afterEach(() => azure.dispose());

  it('takes the routes, the endpoint and the routing identity off the hub, and nothing else', () => {
    azure.run(ROUTE, env);
    const run = azure.run(UNROUTE, env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const hub = azure.hub();
    expect(hub.routes).toEqual([FOREIGN_ROUTE]);
    expect(hub.endpoints).toEqual([FOREIGN_ENDPOINT]);
    expect(hub.identities).toEqual([FOREIGN_ENDPOINT.identity]);
    // Routes first, then the endpoint they use, then the identity the endpoint used.
    expect(writes(run.calls).map(commandOf)).toEqual([
      'iot hub message-route delete',
      'iot hub message-route delete',
      'iot hub message-route delete',
      'iot hub message-endpoint delete',
      'iot hub identity remove',
    ]);
    for (const call of writes(run.calls)) expect(option(call, '--subscription')).toBe(SUBSCRIPTION);
  });

  it('changes nothing and succeeds when run again', () => {
    azure.run(ROUTE, env);
    azure.run(UNROUTE, env);
    const again = azure.run(UNROUTE, env);
    expect(again.status).toBe(0);
    expect(writes(again.calls)).toEqual([]);
  });

  it('leaves another environment’s routing on the same hub in place', () => {
    const prod = environmentOf(PROD);
    azure.run(ROUTE, prod);
    azure.run(ROUTE, env);
    expect(azure.run(UNROUTE, env).status).toBe(0);
    const hub = azure.hub();
    expect(hub.endpoints).toEqual([FOREIGN_ENDPOINT, routingOf(prod).endpoint]);
    expect(hub.routes).toEqual([FOREIGN_ROUTE, ...routingOf(prod).routes]);
    expect(hub.identities).toContain(prod.AZURE_ROUTING_IDENTITY_ID);
  });

  it('does nothing when the template created the hub, or the hub is gone', () => {
    const created = azure.run(UNROUTE, environmentOf({ ...STAGING, iotHubMode: 'create' }));
    expect(created.status).toBe(0);
    expect(created.calls).toEqual([]);
    const gone = azure.run(UNROUTE, { ...env, AZURE_IOTHUB_NAME: 'deleted-hub' });
    expect(gone.status).toBe(0);
    expect(gone.stdout).toContain('not in rg-iot any more');
    expect(writes(gone.calls)).toEqual([]);
  });

  it('fails loudly, naming the error, when the hub refuses to let go of the identity', () => {
    azure.run(ROUTE, env);
    azure.update((s) => {
      s.hubs['contoso-hub']?.endpoints.push({
        ...FOREIGN_ENDPOINT,
        name: 'someone-elses',
        identity: String(env.AZURE_ROUTING_IDENTITY_ID),
      });
    });
    const run = azure.run(UNROUTE, env);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /removing the routing identity from contoso-hub failed: .*used by a routing endpoint/,
    );
  });
});
