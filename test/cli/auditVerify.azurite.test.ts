import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { ManualClock } from '../../shared/domain/Clock';
import { Services, buildServices, useServices } from '../../shared/services';
import { containerClient } from '../support/rawStorage';
import { certfleet } from '../support/runCli';
import { systemTimeIs } from '../support/systemTime';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet audit checkpoint` and `certfleet audit verify --from --to`, in-process, against
 * Azurite with a local checkpoint key: an untouched trail verifies; a last record deleted
 * underneath certfleet (which an unkeyed hash chain cannot see) fails, located.
 */
const DAY = '2026-11-23';
const RECORDED = `${DAY}T10:00:00.000Z`;

const saved = { ...process.env };
let seeded: Services;
let container: string;

beforeEach(() => {
  useServices(undefined);
  const env = testEnvironment({
    CERTFLEET_CHECKPOINT_KEY_FILE: join(mkdtempSync(join(tmpdir(), 'certfleet-cli-key-')), 'k.pem'),
  });
  Object.assign(process.env, env);
  seeded = buildServices(loadSettings(env), new ManualClock(RECORDED));
  container = `${env.CERTFLEET_STORAGE_PREFIX}-audit`;
  systemTimeIs(`${DAY}T11:05:00.000Z`);
});

afterEach(() => {
  jest.useRealTimers();
  useServices(undefined);
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

let counter = 0;
function anEntry(deviceId: string): AuditEntry {
  counter += 1;
  return {
    id: `audit-verify-cli-${counter}`,
    type: 'certificate.renewed',
    hub: 'contoso-hub',
    deviceId,
    occurredAt: `${DAY}T09:00:00.000Z`,
    recordedAt: RECORDED,
    reportedVersion: counter,
  };
}

async function blobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of containerClient(container).listBlobsFlat()) names.push(blob.name);
  return names;
}

describe('certfleet audit verify, against signed checkpoints', () => {
  it('verifies an untouched trail, and locates its last record deleted underneath', async () => {
    const devices = Array.from({ length: 40 }, (_, i) => `meter-${i}`);
    await seeded.audit.append(
      devices.flatMap((d) => [anEntry(d), anEntry(d)]),
      { mayAlreadyBeWritten: false },
    );

    const taken = await certfleet('audit', 'checkpoint');
    const clean = await certfleet('audit', 'verify', '--from', DAY, '--to', DAY);

    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(
      /^checkpoint 1 \(manual, every date\) at 2026-11-23T11:05:00\.000Z: 1 date, \d+ blobs, 80 records;/,
    );
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('80 records (80 sealed, 0 pending the next checkpoint)');
    expect(clean.stdout).toContain(
      `ok: the trail of ${DAY} is complete and unaltered up to checkpoint 1`,
    );

    const [victim] = await blobNames();
    const blob = containerClient(container).getAppendBlobClient(victim!);
    const lines = (await blob.downloadToBuffer()).toString('utf8').split('\n').slice(0, -2);
    await blob.delete();
    await blob.create();
    const body = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    await blob.appendBlock(body, body.length);

    const tampered = await certfleet('audit', 'verify', '--date', DAY);
    const json = await certfleet('audit', 'verify', '--date', DAY, '--json');

    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`PROBLEM records-missing`);
    expect(tampered.stdout).toContain(victim);
    expect(tampered.stdout).toMatch(/FAILED: 1 problem\n$/);
    expect(tampered.stderr).toBe('certfleet: 1 problem in the audit trail\n');
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      problems: [{ kind: 'records-missing', blob: victim, checkpoint: 1 }],
    });
  });

  it('refuses a range that ends before it starts, or --date with --from', async () => {
    const backwards = await certfleet('audit', 'verify', '--from', '2026-11-24', '--to', DAY);
    const both = await certfleet('audit', 'verify', '--from', DAY, '--date', DAY);
    const badDate = await certfleet('audit', 'verify', '--from', '2026-02-30');

    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toBe(`certfleet: --from (2026-11-24) is after to (${DAY})\n`);
    expect(both.code).toBe(2);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--from must be a UTC date, YYYY-MM-DD (got 2026-02-30)');
  });

  it('checks the hash chains only, and says what that cannot see, without a checkpoint key', async () => {
    delete process.env.CERTFLEET_CHECKPOINT_KEY_FILE;
    await seeded.audit.append([anEntry('meter-1')], { mayAlreadyBeWritten: false });

    const run = await certfleet('audit', 'verify', '--date', DAY);
    const checkpoint = await certfleet('audit', 'checkpoint');

    expect(run.code).toBe(0);
    expect(run.stderr).toContain('no checkpoint key is configured');
    expect(run.stdout).toContain('1 blobs for 2026-11-23, 0 broken');
    expect(checkpoint.code).toBe(2);
    expect(checkpoint.stderr).toContain('CERTFLEET_CHECKPOINT_KEY_FILE');
  });
});
