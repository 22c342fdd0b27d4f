import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { deviceConnected, twinUpdated } from '../../shared/local/iotHubMessages';
import { services, useServices } from '../../shared/services';
import { certfleet } from '../support/runCli';
import { testEnvironment } from '../support/testStorage';

/**
 * The case, end to end: `certfleet ingest` of a file in which one line names a device
 * with a 1,000-character id (a 400 from Table storage on its keys) used to stop at that line with
 * every later good event unapplied. Now that event is dead-lettered with its reason and the file
 * goes through, on Azurite.
 */
const HUB = 'contoso-hub';

function line(message: RawIotHubMessage): string {
  return JSON.stringify(message);
}

describe('certfleet ingest of a file with ids IoT Hub could not have given', () => {
  const saved = { ...process.env };
  let dir: string;

  beforeEach(() => {
    useServices(undefined);
    Object.assign(process.env, testEnvironment());
    dir = mkdtempSync(join(tmpdir(), 'certfleet-bad-ids-'));
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    useServices(undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters the bad lines with their reasons and applies every good line after them', async () => {
    const good = Array.from({ length: 300 }, (_, i) =>
      twinUpdated({ hub: HUB, deviceId: `meter-${i}`, at: '2026-11-02T01:00:00.000Z' }, 2, {
        certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
      }),
    );
    const bad = [
      deviceConnected({ hub: HUB, deviceId: 'x'.repeat(1000), at: '2026-11-02T02:00:00.000Z' }, 1n),
      deviceConnected({ hub: HUB, deviceId: 'dev\ud800', at: '2026-11-02T02:00:00.000Z' }, 1n),
      deviceConnected({ hub: 'a/x', deviceId: 'd', at: '2026-11-02T02:00:00.000Z' }, 1n),
    ];
    const lines = [...good.slice(0, 116), ...bad, ...good.slice(116)].map(line);
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const run = await certfleet('ingest', file);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('300 applied');
    expect(run.stdout).toContain('3 dead-lettered');
    let records = 0;
    for await (const record of services().ledger.list()) {
      expect(record.deviceId).toMatch(/^meter-\d+$/);
      records += 1;
    }
    expect(records).toBe(300);
    const letters = [];
    for await (const letter of services().deadLetters.list()) letters.push(letter);
    expect(letters.map((l) => l.code).sort()).toEqual([
      'invalid-device-id',
      'invalid-device-id',
      'invalid-hub-name',
    ]);
  });
});
