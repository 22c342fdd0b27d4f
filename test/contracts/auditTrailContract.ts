import { AuditTrail } from '../../shared/app/ports';
import { AUDIT_DAY, anAuditEntry } from '../support/auditEntries';

/**
 * What every AuditTrail does: each entry appended once, filed by the UTC date it occurred,
 * read back in the order each device's entries were appended, under hash chains that verify.
 * Run against the in-memory double and the blob adapter on Azurite (AuditTrail.test.ts).
 */

const DAY = AUDIT_DAY;

const anEntry = anAuditEntry;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function idsOn(trail: AuditTrail, date: string): Promise<string[]> {
  return (await collect(trail.readDate(date))).map((e) => e.id);
}

/** The records of the date's chains, when every one of them verifies. */
async function verifiedRecords(trail: AuditTrail, date: string): Promise<number> {
  const verification = await trail.verifyDate(date);
  expect(verification.blobs.every((b) => b.result.ok)).toBe(true);
  return verification.blobs.reduce((sum, b) => sum + b.result.records, 0);
}

export function auditTrailContract(name: string, aTrail: () => AuditTrail): void {
  describe(`the AuditTrail contract: ${name}`, () => {
    it('reads back the entries of a date as given, each device in the order appended, none of another date', async () => {
      const trail = aTrail();
      const meter = [
        anEntry({ deviceId: 'meter-1', type: 'certificate.first-seen' }),
        anEntry({ deviceId: 'meter-1', type: 'certificate.renewed' }),
        anEntry({ deviceId: 'meter-1', type: 'device.deleted' }),
      ];
      const camera = [anEntry({ deviceId: 'camera-1' }), anEntry({ deviceId: 'camera-1' })];
      const nextDay = anEntry({ deviceId: 'meter-1', occurredAt: '2026-11-24T08:00:00.000Z' });

      await trail.append([meter[0]!, camera[0]!, nextDay], { mayAlreadyBeWritten: false });
      await trail.append([...meter.slice(1), camera[1]!], { mayAlreadyBeWritten: false });

      const read = await collect(trail.readDate(`${DAY}T00:00:00.000Z`));
      expect(read).toHaveLength(5);
      for (const entries of [meter, camera]) {
        const device = read.filter((e) => e.deviceId === entries[0]!.deviceId);
        device.forEach((entry, i) => expect(entry).toMatchObject(entries[i]!));
        expect(device).toHaveLength(entries.length);
      }
      expect(await idsOn(trail, '2026-11-24')).toEqual([nextDay.id]);
      expect(await idsOn(trail, '2026-11-22')).toEqual([]);
    });

    it('keeps chains that verify across appends, each entry counted once', async () => {
      const trail = aTrail();
      const batches = [
        [anEntry(), anEntry({ deviceId: 'meter-1' }), anEntry()],
        [anEntry({ deviceId: 'meter-1' }), anEntry()],
        [anEntry({ deviceId: 'camera-1' })],
      ];

      for (const batch of batches) await trail.append(batch, { mayAlreadyBeWritten: false });

      expect(await verifiedRecords(trail, DAY)).toBe(6);
    });

    it('writes an entry once when one append names it twice', async () => {
      const trail = aTrail();
      const entry = anEntry();

      await trail.append([entry, entry], { mayAlreadyBeWritten: false });

      expect(await idsOn(trail, DAY)).toEqual([entry.id]);
      expect(await verifiedRecords(trail, DAY)).toBe(1);
    });

    it('writes an entry once when it is appended again as fresh (a lease handover)', async () => {
      const trail = aTrail();
      const entry = anEntry();
      const next = anEntry();

      await trail.append([entry], { mayAlreadyBeWritten: false });
      await trail.append([entry, next], { mayAlreadyBeWritten: false });

      expect(await idsOn(trail, DAY)).toEqual([entry.id, next.id]);
    });

    it('skips entries already written when told they may be, and writes the rest', async () => {
      const trail = aTrail();
      const written = [anEntry(), anEntry()];
      await trail.append(written, { mayAlreadyBeWritten: false });
      const fresh = anEntry();

      await trail.append([...written, fresh], { mayAlreadyBeWritten: true });
      await trail.append([fresh, ...written], { mayAlreadyBeWritten: true });

      expect(await idsOn(trail, DAY)).toEqual([...written, fresh].map((e) => e.id));
      expect(await verifiedRecords(trail, DAY)).toBe(3);
    });

    it('answers how many records each append wrote, never counting one already written', async () => {
      const trail = aTrail();
      const written = [anEntry(), anEntry({ deviceId: 'meter-1' })];
      const fresh = anEntry({ occurredAt: '2026-11-24T08:00:00.000Z' });

      expect(await trail.append(written, { mayAlreadyBeWritten: false })).toBe(2);
      expect(await trail.append([...written, fresh], { mayAlreadyBeWritten: true })).toBe(1);
      expect(await trail.append([fresh, written[0]!], { mayAlreadyBeWritten: false })).toBe(0);
      expect(await trail.append([], { mayAlreadyBeWritten: false })).toBe(0);
    });

    it('has nothing to read or verify on a date without entries', async () => {
      const trail = aTrail();
      await trail.append([anEntry()], { mayAlreadyBeWritten: false });

      expect(await collect(trail.readDate('2026-11-22'))).toEqual([]);
      expect(await trail.verifyDate('2026-11-22')).toEqual({ date: '2026-11-22', blobs: [] });
    });
  });
}
