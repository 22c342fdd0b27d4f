import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { ManualClock } from '../../shared/domain/Clock';
import { Services, buildServices, useServices } from '../../shared/services';
import { containerClient } from '../support/rawStorage';
import { certfleet } from '../support/runCli';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet audit show` and `certfleet audit verify`, in-process, against Azurite, on an audit
 * trail whose blob got a corrupt last line (written with the SDK, underneath certfleet): both
 * name each bad line without quoting it and go on with the rest.
 */
const DAY = '2026-11-23';
const NOW = `${DAY}T12:00:00.000Z`;
/** Stands for whatever a corrupt line may hold. */
const MARKER = '-----BEGIN PRIVATE KEY----- LEAKED-IF-QUOTED';

const saved = { ...process.env };
let seeded: Services;
let container: string;

beforeEach(() => {
  useServices(undefined);
  const env = testEnvironment();
  Object.assign(process.env, env);
  seeded = buildServices(loadSettings(env), new ManualClock(NOW));
  container = `${env.CERTFLEET_STORAGE_PREFIX}-audit`;
});

afterEach(() => {
  useServices(undefined);
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

let counter = 0;
function anEntry(): AuditEntry {
  counter += 1;
  return {
    id: `audit-cli-${counter}`,
    type: 'certificate.renewed',
    hub: 'contoso-hub',
    deviceId: 'thermostat-0001',
    occurredAt: `${DAY}T10:00:00.000Z`,
    recordedAt: NOW,
    reportedVersion: counter,
  };
}

/** Three records in the device's audit blob, then a line of garbage after them. */
async function givenACorruptLastLine(): Promise<{ blob: string; written: AuditEntry[] }> {
  const written = [anEntry(), anEntry(), anEntry()];
  await seeded.audit.append(written, { mayAlreadyBeWritten: false });
  const names: string[] = [];
  for await (const blob of containerClient(container).listBlobsFlat()) names.push(blob.name);
  const [name] = names;
  if (names.length !== 1 || !name) throw new Error(`expected one audit blob, found ${names}`);
  const garbage = Buffer.from(`${MARKER}\n`);
  await containerClient(container).getAppendBlobClient(name).appendBlock(garbage, garbage.length);
  return { blob: name, written };
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEntry);

describe('certfleet audit, on a blob with a corrupt last line', () => {
  it('shows every readable record and names the bad line on stderr, exiting 1', async () => {
    const { blob, written } = await givenACorruptLastLine();

    const run = await certfleet('audit', 'show', '--date', DAY);

    expect(run.code).toBe(1);
    expect(jsonLines(run.stdout).map((e) => e.id)).toEqual(written.map((e) => e.id));
    expect(run.stderr).toBe(
      `certfleet: ${blob} line 4: line is not JSON (left out)\n` +
        `certfleet: 1 bad line in the audit trail for ${DAY}\n`,
    );
    expect(run.stdout + run.stderr).not.toContain('LEAKED-IF-QUOTED');
  });

  it('reports the break as silent before an append, and as recorded after one', async () => {
    const { blob } = await givenACorruptLastLine();
    const next = blob.replace(/\.jsonl$/, '.1.jsonl');

    const before = await certfleet('audit', 'verify', '--date', DAY);
    await seeded.audit.append([anEntry()], { mayAlreadyBeWritten: false });
    const after = await certfleet('audit', 'verify', '--date', DAY);
    const shown = await certfleet('audit', 'show', '--date', DAY);

    expect(before.code).toBe(1);
    expect(before.stdout).toBe(
      `BROKEN  ${blob}: 3 records, 1 bad line\n` +
        `        line 4: line is not JSON; silent: no record of this break\n` +
        `1 blobs for ${DAY}, 1 broken; 1 bad line, 1 silent\n`,
    );
    expect(after.code).toBe(1);
    expect(after.stdout).toBe(
      `BROKEN  ${blob}: 3 records, 1 bad line\n` +
        `        line 4: line is not JSON; break recorded in ${next}\n` +
        `ok      ${next}: 2 records\n` +
        `2 blobs for ${DAY}, 1 broken; 1 bad line, 0 silent\n`,
    );
    expect(jsonLines(shown.stdout).map((e) => e.type)).toEqual([
      'certificate.renewed',
      'certificate.renewed',
      'certificate.renewed',
      'audit.chain-broken',
      'certificate.renewed',
    ]);
    expect(jsonLines(shown.stdout)[3]).toMatchObject({
      chainBreak: { blob, line: 4, problem: 'line is not JSON' },
    });
    for (const run of [before, after, shown])
      expect(run.stdout + run.stderr).not.toContain('LEAKED-IF-QUOTED');
  });
});
