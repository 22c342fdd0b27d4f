import { RotationStore, WriteConflict } from '../../shared/app/ports';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { Rotation, declaredRotation } from '../../shared/domain/rotation/Rotation';

/**
 * What every RotationStore does: each rotation one document under its own ETag, so the timer's
 * passes and a cancellation never overwrite each other. Run against the in-memory double
 * (RotationStore.test.ts) and the Table adapter on Azurite (RotationStore.azurite.test.ts).
 */

const NOW = '2026-11-23T12:00:00.000Z';

export function aRotation(issuer = 'CN=Contoso Issuing CA 2024, O=Contoso', now = NOW): Rotation {
  return declaredRotation(
    { issuer, completeBy: '2027-02-01T00:00:00.000Z', who: 'ops@contoso.com', why: 'CA retires' },
    now,
    DEFAULT_RENEWAL_TIMING,
  );
}

/** A rotation whose count found a million devices spread over every hour of 400 days. */
function aLargeRotation(): Rotation {
  const rotation = aRotation();
  const first = Math.floor(Date.parse(NOW) / 3_600_000);
  rotation.work.counted = {
    affected: 1_000_000,
    unknownIssuer: 3,
    needSlot: Array.from({ length: 400 * 24 }, (_, i): [number, number] => [first + i, 104]),
  };
  return rotation;
}

export function rotationStoreContract(name: string, aStore: () => RotationStore): void {
  describe(`the RotationStore contract: ${name}`, () => {
    it('has no rotation before the first write', async () => {
      const store = aStore();
      expect(await store.read(aRotation().id)).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('reads back the rotation it created, with its ETag, and lists it', async () => {
      const store = aStore();
      const rotation = aRotation();

      const etag = await store.write(rotation, undefined);

      expect(await store.read(rotation.id)).toEqual({ value: rotation, etag });
      expect(await store.list()).toEqual([{ value: rotation, etag }]);
    });

    it('keeps a histogram of a million devices by hour over 400 days in one rotation', async () => {
      const store = aStore();
      const rotation = aLargeRotation();

      const etag = await store.write(rotation, undefined);

      expect(JSON.stringify(rotation).length).toBeGreaterThan(64 * 1024);
      expect(await store.read(rotation.id)).toEqual({ value: rotation, etag });
    });

    it('lists every rotation in id order', async () => {
      const store = aStore();
      const later = aRotation('CN=Fabrikam CA', '2026-12-02T08:00:00.000Z');
      const earlier = aRotation('CN=Contoso CA', '2026-11-20T08:00:00.000Z');
      await store.write(later, undefined);
      await store.write(earlier, undefined);

      expect((await store.list()).map((r) => r.value.id)).toEqual([earlier.id, later.id]);
    });

    it('refuses a write over a stale ETag with WriteConflict and keeps the first writer', async () => {
      const store = aStore();
      const rotation = aRotation();
      await store.write(rotation, undefined);
      const readByBoth = await store.read(rotation.id);
      if (!readByBoth) throw new Error('rotation not written');

      const cancelled: Rotation = { ...readByBoth.value, status: 'cancelled' };
      const worked: Rotation = { ...readByBoth.value, work: { phase: 'count', position: 200 } };
      const etag = await store.write(cancelled, readByBoth);

      await expect(store.write(worked, readByBoth)).rejects.toBeInstanceOf(WriteConflict);
      expect(await store.read(rotation.id)).toEqual({ value: cancelled, etag });
    });

    it('refuses to create a rotation that someone else created first', async () => {
      const store = aStore();
      const rotation = aRotation();
      await store.write(rotation, undefined);

      await expect(store.write(rotation, undefined)).rejects.toBeInstanceOf(WriteConflict);
    });

    it('hands out copies: changing a rotation it returned changes nothing stored', async () => {
      const store = aStore();
      const rotation = aRotation();
      await store.write(rotation, undefined);

      const read = await store.read(rotation.id);
      if (read) read.value.pendingAudit.length = 0;

      expect((await store.read(rotation.id))?.value).toEqual(rotation);
    });
  });
}
