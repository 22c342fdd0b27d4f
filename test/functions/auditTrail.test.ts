import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { takeAuditCheckpoint, verifyAuditTrail } from '../../functions/auditTrail';
import { LocalCheckpointKey } from '../../shared/adapters/keys/LocalCheckpointKey';
import { TakeCheckpoint } from '../../shared/app/audit/TakeCheckpoint';
import { TrailVerificationReport, VerifyAuditTrail } from '../../shared/app/audit/VerifyAuditTrail';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { Services, buildServices, useServices } from '../../shared/services';
import { anAuditEntry } from '../support/auditEntries';
import { MemoryAuditBlobs, MemoryCheckpointStore } from '../support/memoryCheckpoints';

/**
 * The audit trail's function handlers, called as the Functions host calls them, over services
 * whose checkpoints live in memory: what they answer when no checkpoint key is configured,
 * for a range they refuse, and for one they verify.
 */
const NOW = '2026-11-23T00:30:00.000Z';
const TODAY = '2026-11-23';

let base: Services;
let clock: ManualClock;
let blobs: MemoryAuditBlobs;
let store: MemoryCheckpointStore;
let key: LocalCheckpointKey;

beforeAll(() => {
  key = new LocalCheckpointKey(join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'key.pem'));
});

beforeEach(() => {
  clock = new ManualClock(NOW);
  base = buildServices(loadSettings({}), clock);
  blobs = new MemoryAuditBlobs();
  store = new MemoryCheckpointStore();
  useServices(base);
});
afterEach(() => useServices(undefined));

function configured(): void {
  useServices({
    ...base,
    checkpoints: new TakeCheckpoint({ blobs, store, signer: key, keys: key, clock }),
    verifyTrail: new VerifyAuditTrail({ blobs, store, keys: key, clock }),
  });
}

function context(lines: { level: string; text: string }[] = []): InvocationContext {
  return new InvocationContext({
    functionName: 'test',
    invocationId: 'test',
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
}

function verify(query = ''): Promise<HttpResponseInit> {
  return verifyAuditTrail(
    new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/audit/verify${query}` }),
    context(),
  );
}

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: NOW, next: NOW, lastUpdated: NOW },
};

const errorOf = (response: HttpResponseInit) => (response.jsonBody as { error: string }).error;

describe('GET /api/audit/verify', () => {
  it('answers 503 naming the settings when no checkpoint key is configured', async () => {
    const response = await verify('?from=2026-11-20&to=2026-11-23');

    expect(response.status).toBe(503);
    expect(errorOf(response)).toMatch(
      /CERTFLEET_CHECKPOINT_KEY_ID .*CERTFLEET_CHECKPOINT_KEY_FILE/,
    );
  });

  it.each([
    [
      'from after to',
      '?from=2026-11-23&to=2026-11-20',
      'from (2026-11-23) is after to (2026-11-20)',
    ],
    [
      'more than 92 days',
      '?from=2026-01-01&to=2026-04-03',
      'the range holds 93 days; at most 92 at a time',
    ],
    [
      'a day February does not have',
      '?from=2026-02-30',
      'from must be a UTC date, YYYY-MM-DD (got 2026-02-30)',
    ],
    [
      'a time instead of a date',
      '?to=2026-11-23T10:00:00Z',
      'to must be a UTC date, YYYY-MM-DD (got 2026-11-23T10:00:00Z)',
    ],
  ])('answers 400 for %s, saying what is wrong and reading nothing', async (_, query, error) => {
    configured();

    const response = await verify(query);

    expect(response.status).toBe(400);
    expect(errorOf(response)).toBe(error);
    expect(store.reads).toEqual([]);
  });

  it('answers 200 with the report of the range asked for', async () => {
    configured();
    blobs.appendEntries('2026/11/22/shard-00.jsonl', [anAuditEntry()], '2026-11-22T12:00:00.000Z');
    clock.set('2026-11-22T12:05:00.000Z');
    await takeAuditCheckpoint(timer, context());
    clock.set(NOW);
    await takeAuditCheckpoint(timer, context());

    const response = await verify('?from=2026-11-22&to=2026-11-22');

    expect(response.status).toBe(200);
    const report = response.jsonBody as TrailVerificationReport;
    expect(report).toMatchObject({
      ok: true,
      from: '2026-11-22',
      to: '2026-11-22',
      blobs: 1,
      records: 1,
      sealed: 1,
      checkpoints: { read: 2, valid: 2, newest: { seq: 2 } },
    });
  });

  it('verifies today when no range is given, and reports what is wrong in a 200', async () => {
    configured();

    const response = await verify();

    expect(response.status).toBe(200);
    const report = response.jsonBody as TrailVerificationReport;
    expect([report.from, report.to]).toEqual([TODAY, TODAY]);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(['no-checkpoint']);
  });
});

describe('the auditCheckpoint timer', () => {
  it('logs a warning and takes no checkpoint when no checkpoint key is configured', async () => {
    const lines: { level: string; text: string }[] = [];

    const report = await takeAuditCheckpoint(timer, context(lines));

    expect(report).toBeUndefined();
    expect(lines).toEqual([
      {
        level: 'warning',
        text: expect.stringMatching(
          /^audit checkpoints are not configured: .*; no checkpoint taken$/,
        ),
      },
    ]);
  });

  it('takes the scheduled checkpoint, daily in the hour after midnight UTC', async () => {
    configured();
    blobs.appendEntries('2026/11/22/shard-00.jsonl', [anAuditEntry()], '2026-11-22T23:00:00.000Z');

    const report = await takeAuditCheckpoint(timer, context());

    expect(report).toMatchObject({ seq: 1, kind: 'daily', full: true, records: 1 });
    expect(await store.list()).toEqual([1]);
  });
});
