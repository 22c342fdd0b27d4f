import { PacingStore, WriteConflict } from '../../shared/app/ports';
import { PacingState, initialPacing } from '../../shared/domain/renewal/Pacing';

/**
 * What every PacingStore does: one fleet-wide pacing state, guarded by an ETag so the sweep
 * and the connection-triggered requests share one per-minute budget. Run against the in-memory
 * double and the Table adapter on Azurite (PacingStore.test.ts).
 */

const NOW = '2026-11-26T12:00:30.000Z';

/** A state with something in every part: a used budget, a paused hub, an open incident. */
function aBusyState(): PacingState {
  return {
    ...initialPacing(NOW),
    usedThisMinute: 17,
    pausedUntil: '2026-11-26T12:15:00.000Z',
    pauses: 1,
    hubs: { 'hub-a': { pausedUntil: '2026-11-26T12:01:30.000Z', pauses: 2 } },
    recent: [{ minute: '2026-11-26T12:00', attempts: 20, failures: 20 }],
    incidents: [
      {
        id: 'incident-1',
        kind: 'failure-spike',
        openedAt: NOW,
        detail: '20 of the last 20 renewal attempts failed',
      },
      { id: 'incident-2', kind: 'hub-throttled', hub: 'hub-a', openedAt: NOW, detail: '429' },
    ],
  };
}

export function pacingStoreContract(name: string, aStore: () => PacingStore): void {
  describe(`the PacingStore contract: ${name}`, () => {
    it('has no state before the first write', async () => {
      expect(await aStore().read()).toBeUndefined();
    });

    it('reads back the state it created, every part of it, with its ETag', async () => {
      const store = aStore();
      const state = aBusyState();

      const etag = await store.write(state, undefined);

      expect(await store.read()).toEqual({ value: state, etag });
    });

    it('takes a write over the ETag it last gave, and gives a new ETag each time', async () => {
      const store = aStore();
      const etag = await store.write(initialPacing(NOW), undefined);
      const first = await store.read();
      if (!first) throw new Error('pacing state not written');

      const next = { ...first.value, usedThisMinute: 3 };
      const nextEtag = await store.write(next, first);

      expect(nextEtag).not.toBe(etag);
      expect(await store.read()).toEqual({ value: next, etag: nextEtag });
    });

    it('refuses a write over a stale ETag with WriteConflict and keeps the first writer', async () => {
      const store = aStore();
      await store.write(initialPacing(NOW), undefined);
      const readByBoth = await store.read();
      if (!readByBoth) throw new Error('pacing state not written');

      const sweep = { ...readByBoth.value, usedThisMinute: 10 };
      const connected = { ...readByBoth.value, usedThisMinute: 1 };
      const etag = await store.write(sweep, readByBoth);

      await expect(store.write(connected, readByBoth)).rejects.toBeInstanceOf(WriteConflict);
      expect(await store.read()).toEqual({ value: sweep, etag });
    });

    it('refuses to create the state when someone else created it first', async () => {
      const store = aStore();
      const first = { ...initialPacing(NOW), usedThisMinute: 5 };
      await store.write(first, undefined);

      await expect(store.write(initialPacing(NOW), undefined)).rejects.toBeInstanceOf(
        WriteConflict,
      );
      expect((await store.read())?.value).toEqual(first);
    });

    it('hands out copies: changing the state it returned changes nothing stored', async () => {
      const store = aStore();
      await store.write(aBusyState(), undefined);

      const read = await store.read();
      if (read) {
        read.value.usedThisMinute = 0;
        read.value.incidents.length = 0;
      }

      expect((await store.read())?.value).toEqual(aBusyState());
    });
  });
}
