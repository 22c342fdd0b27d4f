import { CertificateLedger, WriteConflict } from '../../shared/app/ports';
import { DeviceKey } from '../../shared/domain/DeviceKey';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { RenewalState } from '../../shared/domain/renewal/RenewalState';

/**
 * What every CertificateLedger does, whichever storage holds it: the in-memory double of the
 * use-case tests and the Table adapter on Azurite run these same tests
 * (CertificateLedger.test.ts), so the double cannot drift from the adapter it stands in for.
 */

const HUB = 'contoso-hub';
const NOW = '2026-11-23T12:00:00.000Z';
/** "Due before" in these tests. */
const T = '2026-12-01T00:00:00.000Z';
const VALID_UNTIL = '2026-12-31T00:00:00.000Z';

function aRecord(deviceId: string, extra: Partial<DeviceRecord> = {}, hub = HUB): DeviceRecord {
  return { ...newDeviceRecord(hub, deviceId, NOW), ...extra };
}

/** A certificate valid until `validUntil`, its renewal due at `renewalDueAt`. */
function certified(renewalDueAt: string, validUntil = VALID_UNTIL): Partial<DeviceRecord> {
  return {
    renewalDueAt,
    current: {
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil,
      firstSeenAt: '2026-11-01T01:00:00.000Z',
      reportedVersion: 2,
    },
    reportedVersion: 2,
  };
}

/** A renewal campaign in `status`, with the fields that status carries. */
function inRenewal(status: RenewalState['status'], at: Partial<RenewalState> = {}): RenewalState {
  return { status, campaignId: 'campaign-1', attempts: 1, failures: 0, ...at };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function dueBefore(ledger: CertificateLedger, before: string) {
  const entries = await collect(ledger.actionsDueBefore(before));
  const order = (e: DeviceKey & { actionAt: string }) => `${e.hub}/${e.deviceId}/${e.actionAt}`;
  return entries.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

async function written(ledger: CertificateLedger, record: DeviceRecord) {
  const etag = await ledger.write(record, undefined);
  return { value: record, etag };
}

export function certificateLedgerContract(
  name: string,
  aLedger: () => CertificateLedger,
  /**
   * Whether a record and its index entries change in one transaction (the Table adapter), or
   * the entry is written first (the in-memory double): then a losing write leaves an extra one.
   */
  { atomicIndex }: { atomicIndex: boolean },
): void {
  describe(`the CertificateLedger contract: ${name}`, () => {
    const key: DeviceKey = { hub: HUB, deviceId: 'thermostat-0001' };

    it('reads back a record it created, with the ETag that guards the next write', async () => {
      const ledger = aLedger();
      const record = aRecord(key.deviceId, certified('2026-11-26T12:00:00.000Z'));

      const etag = await ledger.write(record, undefined);

      expect(await ledger.read(key)).toEqual({ value: record, etag });
      expect(await ledger.read({ hub: HUB, deviceId: 'thermostat-0002' })).toBeUndefined();
      expect(await ledger.read({ hub: 'other-hub', deviceId: key.deviceId })).toBeUndefined();
    });

    it('takes a write over the ETag it last gave, and gives a new ETag each time', async () => {
      const ledger = aLedger();
      const first = await written(ledger, aRecord(key.deviceId));
      const seen = { ...first.value, lastSeenAt: '2026-11-23T12:05:00.000Z' };

      const etag = await ledger.write(seen, first);

      expect(etag).not.toBe(first.etag);
      expect(await ledger.read(key)).toEqual({ value: seen, etag });
    });

    it('refuses a write over a stale ETag with WriteConflict and keeps the first writer', async () => {
      const ledger = aLedger();
      await ledger.write(aRecord(key.deviceId), undefined);
      const readByBoth = await ledger.read(key);
      if (!readByBoth) throw new Error('record not written');
      const first = { ...readByBoth.value, lastSeenAt: '2026-11-23T12:01:00.000Z' };
      const second = { ...readByBoth.value, lastSeenAt: '2026-11-23T12:02:00.000Z' };

      const firstEtag = await ledger.write(first, readByBoth);

      await expect(ledger.write(second, readByBoth)).rejects.toBeInstanceOf(WriteConflict);
      expect(await ledger.read(key)).toEqual({ value: first, etag: firstEtag });
    });

    it('refuses to create a record that already exists with WriteConflict', async () => {
      const ledger = aLedger();
      const original = aRecord(key.deviceId, { lastSeenAt: '2026-11-23T11:00:00.000Z' });
      await ledger.write(original, undefined);

      const rival = aRecord(key.deviceId, { lastSeenAt: '2026-11-23T11:30:00.000Z' });

      await expect(ledger.write(rival, undefined)).rejects.toBeInstanceOf(WriteConflict);
      expect((await ledger.read(key))?.value).toEqual(original);
    });

    it('hands out copies: changing a record it returned changes nothing stored', async () => {
      const ledger = aLedger();
      await ledger.write(aRecord(key.deviceId, certified('2026-11-26T12:00:00.000Z')), undefined);

      const read = await ledger.read(key);
      if (read) read.value.renewalDueAt = '2027-01-01T00:00:00.000Z';
      for (const listed of await collect(ledger.list())) listed.lifecycle = 'deleted';
      for (const found of await ledger.findByDeviceId(key.deviceId))
        found.connection.state = 'connected';

      const again = (await ledger.read(key))?.value;
      expect(again?.renewalDueAt).toBe('2026-11-26T12:00:00.000Z');
      expect(again?.lifecycle).toBe('active');
      expect(again?.connection.state).toBe('unknown');
    });

    it('keeps hub a/x with device d apart from hub a with device x/d, in records and index', async () => {
      const ledger = aLedger();
      const one = { hub: 'a/x', deviceId: 'd' };
      const other = { hub: 'a', deviceId: 'x/d' };
      await ledger.write(
        aRecord(one.deviceId, certified('2026-11-25T00:00:00.000Z'), one.hub),
        undefined,
      );
      await ledger.write(
        aRecord(other.deviceId, certified('2026-11-25T00:00:00.000Z'), other.hub),
        undefined,
      );

      expect((await ledger.read(one))?.value).toMatchObject(one);
      expect((await ledger.read(other))?.value).toMatchObject(other);
      const due = [];
      for await (const entry of ledger.actionsDueBefore(T))
        due.push({ hub: entry.hub, deviceId: entry.deviceId });
      expect(due).toHaveLength(2);
      expect(due).toEqual(expect.arrayContaining([one, other]));
    });

    it('finds a device id in every hub that has it, and only that exact id', async () => {
      const ledger = aLedger();
      for (const [hub, deviceId] of [
        ['hub-a', 'meter-1'],
        ['hub-b', 'meter-1'],
        ['hub-a', 'meter-10'],
        ['hub-b', 'METER-1'],
        ['hub-c', 'meter#1'],
      ] as const)
        await ledger.write(aRecord(deviceId, {}, hub), undefined);

      const found = await ledger.findByDeviceId('meter-1');

      expect(found.map((r) => `${r.hub}/${r.deviceId}`).sort()).toEqual([
        'hub-a/meter-1',
        'hub-b/meter-1',
      ]);
      expect((await ledger.findByDeviceId('meter#1')).map((r) => r.hub)).toEqual(['hub-c']);
      expect(await ledger.findByDeviceId('meter-2')).toEqual([]);
    });

    it("lists the records after a device's place, whether that device still exists or not", async () => {
      const ledger = aLedger();
      const keys = [
        ['hub-a', 'a-1'],
        ['hub-a', 'a-3'],
        ['hub-a', 'z-1'],
        ['hub-b', 'b-1'],
      ] as const;
      for (const [hub, deviceId] of keys) await ledger.write(aRecord(deviceId, {}, hub), undefined);
      const after = async (hub: string, deviceId: string) =>
        (await collect(ledger.list({ after: { hub, deviceId } }))).map(
          (r) => `${r.hub}/${r.deviceId}`,
        );

      expect(await after('hub-a', 'a-1')).toEqual(['hub-a/a-3', 'hub-a/z-1', 'hub-b/b-1']);
      // a-2 is not in the ledger: the listing goes on from where it would be.
      expect(await after('hub-a', 'a-2')).toEqual(['hub-a/a-3', 'hub-a/z-1', 'hub-b/b-1']);
      expect(await after('hub-a', 'z-1')).toEqual(['hub-b/b-1']);
      expect(await after('hub-b', 'b-1')).toEqual([]);
    });

    it('lists every record by hub, then device id, and only one hub when asked', async () => {
      const ledger = aLedger();
      // A hub name that extends another's ('hub-a2') must not sort in among the other's devices.
      const keys = [
        ['hub-b', 'b-1'],
        ['hub-a2', 'a-1'],
        ['hub-a', 'z-1'],
        ['hub-a', 'a-2'],
        ['hub-a', 'a-1'],
      ] as const;
      for (const [hub, deviceId] of keys) await ledger.write(aRecord(deviceId, {}, hub), undefined);

      const all = await collect(ledger.list());

      expect(all.map((r) => `${r.hub}/${r.deviceId}`)).toEqual([
        'hub-a/a-1',
        'hub-a/a-2',
        'hub-a/z-1',
        'hub-a2/a-1',
        'hub-b/b-1',
      ]);
      const hubA = await collect(ledger.list({ hub: 'hub-a' }));
      expect(hubA.map((r) => r.deviceId)).toEqual(['a-1', 'a-2', 'z-1']);
      expect(await collect(ledger.list({ hub: 'hub-none' }))).toEqual([]);
    });

    it('answers actionsDueBefore with each active device whose next action comes before T, with what the planner needs', async () => {
      const ledger = aLedger();
      const write = (deviceId: string, extra: Partial<DeviceRecord>, hub = HUB) =>
        ledger.write(aRecord(deviceId, extra, hub), undefined);
      await write('healthy-due', certified('2026-11-24T00:00:00.000Z'));
      await write('healthy-due-other-hub', certified('2026-11-25T00:00:00.000Z'), 'hub-b');
      await write('healthy-later', certified('2026-12-15T00:00:00.000Z'));
      await write('healthy-exactly-at-t', certified(T));
      await write('requested', {
        ...certified('2026-11-20T00:00:00.000Z'),
        renewal: inRenewal('requested', { deadline: '2026-11-23T13:00:00.000Z' }),
      });
      await write('retrying', {
        ...certified('2026-11-20T00:00:00.000Z'),
        renewal: inRenewal('retrying', { failures: 1, nextAttemptAt: '2026-11-23T14:00:00.000Z' }),
      });
      await write('retrying-later', {
        ...certified('2026-11-20T00:00:00.000Z'),
        renewal: inRenewal('retrying', { failures: 1, nextAttemptAt: '2026-12-02T00:00:00.000Z' }),
      });
      // Given up: what is left to do is to record the expiry.
      await write('failed', {
        ...certified('2026-11-20T00:00:00.000Z', '2026-11-30T00:00:00.000Z'),
        renewal: inRenewal('failed', { failures: 8 }),
      });
      // Never later than the expiry, which must be recorded when it passes.
      await write(
        'due-after-expiry',
        certified('2026-12-20T00:00:00.000Z', '2026-11-29T00:00:00.000Z'),
      );
      await write('expired', {
        ...certified('2026-11-10T00:00:00.000Z', '2026-11-20T00:00:00.000Z'),
        renewal: inRenewal('expired'),
      });
      await write('no-certificate', {});
      await write('deleted', {
        ...certified('2026-11-24T00:00:00.000Z'),
        lifecycle: 'deleted',
        deletedAt: '2026-11-20T00:00:00.000Z',
      });

      const due = await dueBefore(ledger, T);

      const entry = (
        deviceId: string,
        actionAt: string,
        status: string,
        validUntil = VALID_UNTIL,
      ) => ({ hub: HUB, deviceId, actionAt, validUntil, status }) as const;
      expect(due).toEqual([
        entry(
          'due-after-expiry',
          '2026-11-29T00:00:00.000Z',
          'healthy',
          '2026-11-29T00:00:00.000Z',
        ),
        entry('failed', '2026-11-30T00:00:00.000Z', 'failed', '2026-11-30T00:00:00.000Z'),
        entry('healthy-due', '2026-11-24T00:00:00.000Z', 'healthy'),
        entry('requested', '2026-11-23T13:00:00.000Z', 'requested'),
        entry('retrying', '2026-11-23T14:00:00.000Z', 'retrying'),
        { ...entry('healthy-due-other-hub', '2026-11-25T00:00:00.000Z', 'healthy'), hub: 'hub-b' },
      ]);
    });

    it('moves the entry with the next action, and drops it when nothing is left to do', async () => {
      const ledger = aLedger();
      const until = '2030-01-01T00:00:00.000Z';
      let stored = await written(
        ledger,
        aRecord(key.deviceId, certified('2026-11-26T12:00:00.000Z')),
      );
      const step = async (change: Partial<DeviceRecord>) => {
        const next = { ...stored.value, ...change };
        stored = { value: next, etag: await ledger.write(next, stored) };
        return (await dueBefore(ledger, until)).map((e) => [e.actionAt, e.status]);
      };

      expect(await step({ renewal: inRenewal('due', { nextAttemptAt: NOW }) })).toEqual([
        [NOW, 'due'],
      ]);
      expect(
        await step({ renewal: inRenewal('requested', { deadline: '2026-11-23T13:00:00.000Z' }) }),
      ).toEqual([['2026-11-23T13:00:00.000Z', 'requested']]);
      // Renewed: healthy again, due next month.
      expect(
        await step({
          ...certified('2026-12-27T00:00:00.000Z', '2027-01-01T00:00:00.000Z'),
          renewal: { status: 'healthy', attempts: 0, failures: 0 },
        }),
      ).toEqual([['2026-12-27T00:00:00.000Z', 'healthy']]);
      expect(await step({ lastSeenAt: NOW })).toEqual([['2026-12-27T00:00:00.000Z', 'healthy']]);
      expect(await dueBefore(ledger, '2026-12-27T00:00:00.000Z')).toEqual([]);
      expect(await step({ renewal: inRenewal('expired') })).toEqual([]);
    });

    it('drops the entry of a device that is deleted', async () => {
      const ledger = aLedger();
      const stored = await written(
        ledger,
        aRecord(key.deviceId, certified('2026-11-24T00:00:00.000Z')),
      );
      const deleted: DeviceRecord = { ...stored.value, lifecycle: 'deleted', deletedAt: NOW };
      delete deleted.renewalDueAt;

      await ledger.write(deleted, stored);

      expect(await dueBefore(ledger, '2030-01-01T00:00:00.000Z')).toEqual([]);
    });

    it('replaces the status of an entry whose time does not change', async () => {
      const ledger = aLedger();
      const at = '2026-11-23T18:00:00.000Z';
      const stored = await written(
        ledger,
        aRecord(key.deviceId, {
          ...certified('2026-11-20T00:00:00.000Z'),
          renewal: inRenewal('due', { nextAttemptAt: at }),
        }),
      );

      await ledger.write(
        { ...stored.value, renewal: inRenewal('unreachable', { nextAttemptAt: at }) },
        stored,
      );

      expect(await dueBefore(ledger, T)).toEqual([
        { ...key, actionAt: at, validUntil: VALID_UNTIL, status: 'unreachable' },
      ]);
    });

    it('keeps the winning writer in the renewal index when a rival write loses', async () => {
      const ledger = aLedger();
      const asRead = await written(
        ledger,
        aRecord(key.deviceId, certified('2026-11-24T00:00:00.000Z')),
      );
      const winner = { ...asRead.value, ...certified('2026-11-28T00:00:00.000Z') };
      const loser = { ...asRead.value, ...certified('2026-11-29T00:00:00.000Z') };

      await ledger.write(winner, asRead);
      await expect(ledger.write(loser, asRead)).rejects.toBeInstanceOf(WriteConflict);

      // The index may hold an extra entry (readers check the record), never miss the real one.
      const due = (await dueBefore(ledger, T)).map((e) => e.actionAt);
      expect(due).toContain('2026-11-28T00:00:00.000Z');
      expect(due).not.toContain('2026-11-24T00:00:00.000Z');
      expect((await ledger.read(key))?.value.renewalDueAt).toBe('2026-11-28T00:00:00.000Z');
    });

    it("forgets an entry the losing write left, keeps the record's own, and forgets twice without error", async () => {
      const ledger = aLedger();
      const asRead = await written(
        ledger,
        aRecord(key.deviceId, certified('2026-11-24T00:00:00.000Z')),
      );
      const winner = { ...asRead.value, ...certified('2026-11-28T00:00:00.000Z') };
      const loser = { ...asRead.value, ...certified('2026-11-29T00:00:00.000Z') };
      await ledger.write(winner, asRead);
      await expect(ledger.write(loser, asRead)).rejects.toBeInstanceOf(WriteConflict);
      const left = (await dueBefore(ledger, T)).filter(
        (e) => e.actionAt === '2026-11-29T00:00:00.000Z',
      );
      // Written before the record, unless both change in one transaction.
      expect(left).toHaveLength(atomicIndex ? 0 : 1);
      const [own] = await dueBefore(ledger, T);
      const stale = left[0] ?? { ...own!, actionAt: '2026-11-29T00:00:00.000Z' };

      for (const entry of [stale]) {
        await ledger.forgetAction(entry);
        await ledger.forgetAction(entry);
      }

      const due = (await dueBefore(ledger, T)).map((e) => e.actionAt);
      expect(due).toEqual(['2026-11-28T00:00:00.000Z']);
    });
  });
}
