import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The optional Azure SDKs load when first used, not when the Function app starts
 * (docs/benchmarks.md, "Cold start"): loading every function and building the services on a
 * connection string loads none of them; configuring what needs one loads it.
 */
const OPTIONAL = [
  '@azure/identity',
  '@azure/eventgrid',
  '@azure/keyvault-keys',
  '@azure/event-hubs',
];

function loadedWhile(run: () => void): string[] {
  const loaded: string[] = [];
  jest.isolateModules(() => {
    for (const name of OPTIONAL) {
      jest.doMock(name, () => {
        loaded.push(name);
        return jest.requireActual(name);
      });
    }
    run();
  });
  return loaded.sort();
}

function startTheApp(env: Record<string, string>): void {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const functions = join(__dirname, '..', '..', 'functions');
    for (const file of readdirSync(functions).sort()) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      if (file.endsWith('.ts')) require(join(functions, file));
    }
    // What functions/startup.ts's app-start hook does.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('../../shared/services') as typeof import('../../shared/services')).services();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe('the optional Azure SDKs', () => {
  it('are not loaded by starting the Function app on a connection string', () => {
    expect(loadedWhile(() => startTheApp({ FleetStorage: 'UseDevelopmentStorage=true' }))).toEqual(
      [],
    );
  });

  it('load when the settings ask for what needs them: Entra ID storage, an Event Grid sink, a Key Vault key', () => {
    const loaded = loadedWhile(() =>
      startTheApp({
        FleetStorage__blobServiceUri: 'https://account.blob.core.windows.net',
        FleetStorage__tableServiceUri: 'https://account.table.core.windows.net',
        FleetStorage__credential: 'managedidentity',
        CERTFLEET_ALERT_EVENTGRID_ENDPOINT:
          'https://topic.westeurope-1.eventgrid.azure.net/api/events',
        CERTFLEET_CHECKPOINT_KEY_ID: 'https://vault.vault.azure.net/keys/certfleet-checkpoints',
      }),
    );

    expect(loaded).toEqual(['@azure/eventgrid', '@azure/identity', '@azure/keyvault-keys']);
  });
});
