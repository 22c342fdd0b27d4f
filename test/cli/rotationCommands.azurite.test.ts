import { twinUpdated } from '../../shared/local/iotHubMessages';
import { buildServices, useServices } from '../../shared/services';
import { loadSettings } from '../../shared/config/settings';
import { certfleet } from '../support/runCli';
import { testEnvironment } from '../support/testStorage';

/** `certfleet rotation plan|work|status|list|cancel` against Azurite, as an operator runs them. */
const OLD_CA = 'CN=Contoso Issuing CA 2024, O=Contoso';
const HUB = 'contoso-hub';

describe('certfleet rotation', () => {
  const saved = { ...process.env };

  beforeEach(async () => {
    useServices(undefined);
    Object.assign(process.env, testEnvironment());
    const services = buildServices(loadSettings(process.env));
    const at = '2026-06-01T00:05:00.000Z';
    // Certificates valid for two years from now, so the test holds whenever it runs.
    const validFrom = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const validUntil = new Date(Date.now() + 700 * 86_400_000).toISOString();
    await services.ingest.apply([
      twinUpdated({ hub: HUB, deviceId: 'meter-1', at }, 2, {
        certificate: { validFrom, validUntil, issuer: OLD_CA },
      }),
      twinUpdated({ hub: HUB, deviceId: 'sensor-dates-only', at }, 2, {
        certificate: { validFrom, validUntil },
      }),
    ]);
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

  it('declares a rotation, works it through the ledger and shows its status', async () => {
    const plan = await certfleet(
      'rotation',
      'plan',
      '--issuer',
      OLD_CA,
      '--complete-by',
      inDays(60),
      '--why',
      'the 2024 CA retires',
      '--who',
      'alice@contoso.com',
    );
    expect(plan.code).toBe(0);
    const id = /^rotation (rot-\d{8}-[0-9a-f]{8}): planning/.exec(plan.stdout)?.[1];
    expect(id).toBeDefined();
    expect(plan.stdout).toMatch(/declared +\S+ by alice@contoso.com: the 2024 CA retires/);

    for (let run = 0; run < 3; run += 1) expect((await certfleet('rotation', 'work')).code).toBe(0);
    const status = await certfleet('rotation', 'status', id!);

    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^rotation ${id}: active`));
    expect(status.stdout).toMatch(/plan +made \S+: 1 devices on the issuer, 1 given a slot from /);
    expect(status.stdout).toMatch(/1 devices name no issuer/);
    expect(status.stdout).toMatch(
      /progress +counted \S+: 0 done .*, 1 left: 1 waiting for their slot/,
    );
    expect(status.stdout).toMatch(/forecast +last device asked by \S+: meets the deadline/);
    const json = JSON.parse((await certfleet('rotation', 'status', id!, '--json')).stdout) as {
      progress: { remaining: number };
    };
    expect(json.progress.remaining).toBe(1);
    const list = await certfleet('rotation', 'list');
    expect(list.stdout).toMatch(
      new RegExp(`^${id}  active +complete by \\S+  1 left, on time  ${OLD_CA}\\n$`),
    );
  });

  it('cancels a rotation, recording why', async () => {
    const plan = await certfleet(
      'rotation',
      'plan',
      '--issuer',
      OLD_CA,
      '--complete-by',
      inDays(30),
      '--why',
      'test',
    );
    const id = /^rotation (\S+):/.exec(plan.stdout)![1]!;

    const cancel = await certfleet('rotation', 'cancel', id, '--why', 'declared by mistake');
    const again = await certfleet('rotation', 'cancel', id, '--why', 'twice');

    expect(cancel).toMatchObject({ code: 0, stdout: `rotation ${id} cancelled\n` });
    expect(again).toMatchObject({
      code: 1,
      stderr: `certfleet: rotation ${id} is cancelled already\n`,
    });
    expect((await certfleet('rotation', 'status')).stdout).toBe(
      'no open rotation (certfleet rotation list shows all)\n',
    );
  });

  it('exits 2 naming the option when the input is wrong', async () => {
    const late = await certfleet(
      'rotation',
      'plan',
      '--issuer',
      OLD_CA,
      '--complete-by',
      'next spring',
      '--why',
      'x',
    );
    const noDn = await certfleet(
      'rotation',
      'plan',
      '--issuer',
      'Contoso CA',
      '--complete-by',
      inDays(30),
      '--why',
      'x',
    );
    const noWhy = await certfleet(
      'rotation',
      'plan',
      '--issuer',
      OLD_CA,
      '--complete-by',
      inDays(30),
    );
    const badId = await certfleet('rotation', 'status', 'meter-1');

    expect(late).toMatchObject({ code: 2 });
    expect(late.stderr).toMatch(/^certfleet: --complete-by must be an ISO 8601 time with a zone/);
    expect(noDn.stderr).toMatch(/^certfleet: --issuer must be the issuing CA's distinguished name/);
    expect(noWhy.code).toBe(2);
    expect(noWhy.stderr).toMatch(/required option '--why <text>' not specified/);
    expect(badId).toMatchObject({ code: 2 });
    expect(badId.stderr).toMatch(/a rotation id looks like rot-20261123-1a2b3c4d, got meter-1/);
  });
});
