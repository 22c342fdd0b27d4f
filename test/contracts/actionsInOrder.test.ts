import fc from 'fast-check';
import { ActionEntry } from '../../shared/app/ports';
import { deviceKeyString } from '../../shared/domain/DeviceKey';
import { compareIndexOrder } from '../../shared/domain/renewal/renewalIndexOrder';
import { hubPartitions } from '../../shared/adapters/storage/storageKeys';
import {
  mergeInOrder,
  readActionsDueBefore,
  readActionsInOrder,
} from '../../shared/adapters/storage/dueIndexReads';
import { InMemoryLedger } from '../support/memoryPorts';
import {
  AWKWARD_IDS,
  ModelledIndexTable,
  actionsInOrderContract,
  at,
  collect,
  entry,
} from './actionsInOrderContract';

const HUBS = ['hub-a', 'hub-b', 'Hub-c'];
const partitionsOf = (hubs: readonly string[]) => hubs.flatMap((hub) => hubPartitions(hub));

describe('actionsInOrder, the in-memory ledger', () => {
  actionsInOrderContract(async () => {
    const ledger = new InMemoryLedger();
    return {
      // Entries no record accounts for are the index's as much as records' own (a crash
      // leaves them): the double holds them as stranded entries.
      put: async (entries) => {
        for (const e of entries)
          ledger.strandedIndexEntries.set(`${e.actionAt}~${deviceKeyString(e)}`, e);
      },
      read: (range) => ledger.actionsInOrder(range),
    };
  });
});

describe('actionsInOrder over the ledger table (dueIndexReads.ts), on a modelled table', () => {
  actionsInOrderContract(async () => {
    const table = new ModelledIndexTable();
    return {
      put: async (entries) => table.put(entries),
      read: (range) => readActionsInOrder(table.pages, partitionsOf(HUBS), range),
    };
  });

  it('gives what sorting the whole index gives, for any index and any range', async () => {
    const anEntry = fc.record({
      hub: fc.constantFrom(...HUBS),
      deviceId: fc.constantFrom(...AWKWARD_IDS, 'a', 'b', 'c', 'z~z', 'Z'),
      seconds: fc.integer({ min: 0, max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(anEntry, { selector: (e) => `${e.hub}/${e.deviceId}/${e.seconds}` }),
        fc.record({
          before: fc.integer({ min: 0, max: 7 }),
          from: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
          after: fc.option(anEntry, { nil: undefined }),
          limit: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        }),
        async (specs, r) => {
          const all = specs.map((s) => entry(s.hub, s.deviceId, s.seconds));
          const table = new ModelledIndexTable();
          table.put(all);
          const range = {
            before: at(r.before),
            ...(r.from !== undefined ? { from: at(r.from) } : {}),
            ...(r.after
              ? {
                  after: {
                    actionAt: at(r.after.seconds),
                    hub: r.after.hub,
                    deviceId: r.after.deviceId,
                  },
                }
              : {}),
            ...(r.limit !== undefined ? { limit: r.limit } : {}),
          };
          const expected = all
            .filter(
              (e) =>
                e.actionAt < range.before &&
                (range.from === undefined || e.actionAt >= range.from) &&
                (range.after === undefined || compareIndexOrder(e, range.after) > 0),
            )
            .sort(compareIndexOrder)
            .slice(0, range.limit);
          const read = await collect(readActionsInOrder(table.pages, partitionsOf(HUBS), range));
          expect(read).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads about what it returns: a limit of 50 over 16 partitions of 1,000 entries each', async () => {
    const table = new ModelledIndexTable();
    const many: ActionEntry[] = Array.from({ length: 16_000 }, (_, i) =>
      entry('hub-a', `device-${i}`, i),
    );
    table.put(many);

    const read = await collect(
      readActionsInOrder(table.pages, partitionsOf(['hub-a']), { before: at(20_000), limit: 50 }),
    );

    expect(read.map((e) => e.deviceId)).toEqual(
      Array.from({ length: 50 }, (_, i) => `device-${i}`),
    );
    // One request per partition, and a second page where the first 50 crowd one partition.
    expect(table.counts.requests).toBeLessThanOrEqual(20);
    expect(table.counts.entities).toBeLessThanOrEqual(150);
  });

  it('reads an instant shared by more entries than a page holds, whole, in order of id', async () => {
    const table = new ModelledIndexTable();
    const instant = AWKWARD_IDS.flatMap((id) =>
      Array.from({ length: 40 }, (_, i) => entry('hub-a', `${id}${i}`, 5)),
    );
    table.put([...instant, entry('hub-a', 'after', 6)]);

    const read = await collect(
      readActionsInOrder(table.pages, partitionsOf(['hub-a']), { before: at(10), limit: 400 }),
    );

    expect(read).toEqual(
      [...instant]
        .sort(compareIndexOrder)
        .concat([entry('hub-a', 'after', 6)])
        .slice(0, 400),
    );
  });

  it('merges entries read elsewhere (the earlier tables) into a read in order, within its range and limit', async () => {
    const table = new ModelledIndexTable();
    table.put([entry('hub-a', 'b', 2), entry('hub-a', 'd', 4), entry('hub-a', 'f', 6)]);
    const legacy = [entry('hub-a', 'e', 5), entry('hub-a', 'a', 1), entry('hub-a', 'z', 9)];
    const range = { before: at(8), after: { actionAt: at(1), hub: 'hub-a', deviceId: 'a' } };

    const merged = async (limit?: number) => {
      const r = { ...range, ...(limit ? { limit } : {}) };
      const read = readActionsInOrder(table.pages, partitionsOf(['hub-a']), r);
      return (await collect(mergeInOrder(read, legacy, r))).map((e) => e.deviceId);
    };

    expect(await merged()).toEqual(['b', 'd', 'e', 'f']);
    expect(await merged(3)).toEqual(['b', 'd', 'e']);
  });

  it('answers actionsDueBefore partition by partition, each earliest first', async () => {
    const table = new ModelledIndexTable();
    table.put([entry('hub-a', 'x', 5), entry('hub-a', 'y', 1), entry('hub-b', 'z', 2)]);

    const read = await collect(
      readActionsDueBefore(table.pages, partitionsOf(['hub-a', 'hub-b']), at(5)),
    );

    expect(read.map((e) => e.deviceId).sort()).toEqual(['y', 'z']);
  });
});
