import { TableServiceClient } from '@azure/data-tables';
import { useServices } from '../../shared/services';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { seedLegacyLedger } from '../support/legacyLedgerRows';
import { azuriteConnectionString, tableClient } from '../support/rawStorage';
import { certfleet } from '../support/runCli';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet ledger migrate`, in-process, against Azurite: a ledger written in the layout
 * before (`<prefix>devices`, `<prefix>due`, seeded as the old code stored it) is moved into
 * `<prefix>ledger`, and the command says what it did, each time it runs.
 */
const NOW = '2026-11-23T12:00:00.000Z';

function aRecord(hub: string, deviceId: string, renewalDueAt?: string): DeviceRecord {
  return {
    ...newDeviceRecord(hub, deviceId, NOW),
    ...(renewalDueAt
      ? {
          renewalDueAt,
          current: {
            source: 'reported' as const,
            validFrom: '2026-11-01T00:00:00.000Z',
            validUntil: '2026-12-31T00:00:00.000Z',
            firstSeenAt: '2026-11-01T01:00:00.000Z',
            reportedVersion: 2,
          },
          reportedVersion: 2,
        }
      : {}),
  };
}

async function tablesUnder(prefix: string): Promise<string[]> {
  const service = TableServiceClient.fromConnectionString(azuriteConnectionString(), {
    allowInsecureConnection: true,
  });
  const names: string[] = [];
  for await (const table of service.listTables())
    if (table.name?.startsWith(prefix)) names.push(table.name.slice(prefix.length));
  return names.sort();
}

describe('certfleet ledger migrate', () => {
  const saved = { ...process.env };
  let prefix: string;

  beforeEach(() => {
    useServices(undefined);
    const env = testEnvironment();
    prefix = env.CERTFLEET_STORAGE_PREFIX!;
    Object.assign(process.env, env);
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('moves 1,050 legacy records into the ledger table, printing its progress and counts, deletes the legacy tables, and finds nothing to do the second time', async () => {
    const records = Array.from({ length: 1_050 }, (_, i) =>
      aRecord(
        i % 3 === 0 ? 'plant-b' : 'plant-a',
        `meter-${String(i).padStart(4, '0')}`,
        i % 2 === 0 ? `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00.000Z` : undefined,
      ),
    );
    await seedLegacyLedger(
      { devices: tableClient(`${prefix}devices`), due: tableClient(`${prefix}due`) },
      records,
    );

    const started = Date.now();
    const run = await certfleet('ledger', 'migrate');
    console.log(`certfleet ledger migrate: 1,050 records in ${Date.now() - started} ms on Azurite`);

    expect(run).toEqual({
      code: 0,
      stdout:
        'moved 1050 records; 0 were already moved by the app\nthe earlier tables are deleted\n',
      stderr: 'certfleet ledger migrate: 1000 records so far\n',
    });
    expect(await tablesUnder(prefix)).toEqual(['ledger']);
    const shown = await certfleet('device', 'meter-0044', '--hub', 'plant-a', '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      hub: 'plant-a',
      deviceId: 'meter-0044',
      renewalDueAt: '2026-12-17T00:00:00.000Z',
    });

    const again = await certfleet('ledger', 'migrate');

    expect(again).toEqual({
      code: 0,
      stdout:
        'moved 0 records; 0 were already moved by the app\nno earlier tables with records: nothing to do\n',
      stderr: '',
    });
    expect(await tablesUnder(prefix)).toEqual(['ledger']);
  }, 120_000);

  it('fails, naming how many records were left, and keeps the legacy tables when the ledger table refuses a record', async () => {
    // A hub that fits a legacy PartitionKey (Azurite takes 512 characters), not with `~NN` after.
    await seedLegacyLedger(
      { devices: tableClient(`${prefix}devices`), due: tableClient(`${prefix}due`) },
      [aRecord('plant-a', 'meter-1', '2026-12-01T00:00:00.000Z'), aRecord('h'.repeat(510), 'x')],
    );

    const run = await certfleet('ledger', 'migrate');

    expect(run).toEqual({
      code: 1,
      stdout: 'moved 1 records; 0 were already moved by the app\n',
      stderr:
        'certfleet: 1 records could not be moved (the new table refused them); the earlier tables are kept\n',
    });
    expect(await tablesUnder(prefix)).toEqual(['devices', 'due', 'ledger']);
  });

  it('says there is nothing to do for a ledger that never had the legacy tables, and creates none', async () => {
    const run = await certfleet('ledger', 'migrate');

    expect(run).toEqual({
      code: 0,
      stdout:
        'moved 0 records; 0 were already moved by the app\nno earlier tables with records: nothing to do\n',
      stderr: '',
    });
    expect(await tablesUnder(prefix)).not.toContain('devices');
    expect(await tablesUnder(prefix)).not.toContain('due');
  });
});
