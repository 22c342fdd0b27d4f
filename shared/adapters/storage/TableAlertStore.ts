import { createHash } from 'node:crypto';
import { TableClient, TableEntityResult, odata } from '@azure/data-tables';
import {
  AlertDelivery,
  AlertFilter,
  AlertStore,
  alertStoreRules,
  RecordRejected,
  Versioned,
  WriteConflict,
} from '../../app/ports';
import { AlertCondition } from '../../domain/alerts/AlertCondition';
import {
  AlertState,
  AlertTransition,
  alertKey,
  stateOfTransition,
} from '../../domain/alerts/AlertState';
import { fleetSubject } from '../../domain/alerts/rollUp';
import { conditionalWrite } from './conditionalWrite';
import { retryableOnce } from './retryableOnce';
import { StorageCallOptions, classifyStorageAnswer, statusOf, storageCall } from './storageFaults';
import { UnstorableKey, escapeKey } from './storageKeys';

/**
 * Open alerts and the notification outbox in Azure Table storage.
 *
 * Table `<prefix>alerts` holds each open alert at home: PartitionKey `fleet` for fleet alerts,
 * `d-<escaped hub>` for device alerts (one hub's alerts are one partition query); RowKey its
 * escaped alert key (scope, rule, subject). The AlertState is JSON in `doc`, with plain columns
 * beside it for filters and for people browsing the table. Each open device alert is also kept
 * in its group, PartitionKey `g-<sha256 of rule;cause>` with the same RowKey, so `listGroup` is
 * one partition query (a cause can be long and hold any character: the partition is a hash, and
 * the fleet subject is kept in a column and compared, so a collision cannot mix two groups).
 *
 * Why a home as well as the group: a device alert's cause (issuer, cohort, expiry day) can change
 * while its episode is open (a device with an untrusted chain renews, and its expiry day moves),
 * and the resolution then names the new cause. The home is found from the alert key alone and
 * says which group holds the alert. Writes go group first, home last, and removals the other
 * way, so a call that fails part way leaves at worst an extra group entry, which applying the
 * same transitions again (they are idempotent) removes.
 *
 * Table `<prefix>alertoutbox` holds the deliveries: PartitionKey the sink, RowKey the escaped
 * notification id, JSON in `doc`, with `state` and `nextAttemptAt` columns for `duePending`.
 * Inserts only, so a delivery queued again keeps what it has become. `duePending` filters the
 * whole table (the service reads every row; it returns the due ones): fine while the table holds
 * recent deliveries, and delivered rows can be aged out when that stops being true.
 *
 * Tables deleted after start-up are created again by the call that finds them gone.
 */
export class TableAlertStore implements AlertStore {
  private readonly ensureTables = retryableOnce(() =>
    storageCall('create alert tables', async () => {
      await Promise.all([this.alerts.createTable(), this.outbox.createTable()]);
    }),
  );

  private readonly recreate: StorageCallOptions = { recreate: () => this.ensureTables.again() };

  /** For calls about one alert or delivery: storage refusing it for good is that record's fault. */
  private readonly forRecord: StorageCallOptions = {
    forRecord: true,
    recreate: () => this.ensureTables.again(),
  };

  constructor(
    private readonly alerts: TableClient,
    private readonly outbox: TableClient,
  ) {}

  async applyTransitions(transitions: readonly AlertTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    await this.ensureTables();
    // Alerts are independent of each other: each one's transitions in order, several at once.
    const byAlert = new Map<string, AlertTransition[]>();
    for (const t of transitions) {
      const key = alertKey(t);
      const list = byAlert.get(key);
      if (list) list.push(t);
      else byAlert.set(key, [t]);
    }
    await eachInParallel([...byAlert.values()], PARALLEL_REQUESTS, async (list) => {
      for (const t of list) await this.applyOne(t);
    });
  }

  async *listOpen(filter: AlertFilter = {}): AsyncIterable<AlertState> {
    const query = homeQuery(filter);
    if (query === undefined) return;
    await this.ensureTables();
    const found = await storageCall(
      'list open alerts',
      async () => {
        const states: AlertState[] = [];
        for await (const entity of this.alerts.listEntities<AlertEntity>({
          queryOptions: { filter: query },
        })) {
          const state = JSON.parse(entity.doc) as AlertState;
          if (alertStoreRules.matches(state, filter)) states.push(state);
        }
        return states;
      },
      this.recreate,
    );
    yield* found.sort(alertStoreRules.byScopeRuleSubject);
  }

  async listGroup(subject: string): Promise<AlertState[]> {
    await this.ensureTables();
    const filter = odata`PartitionKey eq ${groupPartition(subject)}`;
    const found = await storageCall(
      'list alert group',
      async () => {
        const states: AlertState[] = [];
        for await (const entity of this.alerts.listEntities<AlertEntity>({
          queryOptions: { filter },
        })) {
          if (entity.fleetSubject === subject) states.push(JSON.parse(entity.doc) as AlertState);
        }
        return states;
      },
      this.recreate,
    );
    return found.sort(alertStoreRules.byScopeRuleSubject);
  }

  async enqueue(deliveries: readonly AlertDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.ensureTables();
    // The first of a sink and notification wins, within one call as across calls.
    const first = new Map<string, AlertDelivery>();
    for (const d of deliveries) {
      const key = `${d.sink}\n${d.notification.id}`;
      if (!first.has(key)) first.set(key, d);
    }
    await eachInParallel([...first.values()], PARALLEL_REQUESTS, async (delivery) => {
      try {
        const entity = deliveryEntity(delivery);
        await conditionalWrite(this.outbox, entity, undefined, 'alert delivery', this.forRecord);
      } catch (error) {
        // Already queued: left as it is (pending, delivered or rolled up), so never sent twice.
        if (!(error instanceof WriteConflict)) throw error;
      }
    });
  }

  async duePending(now: string, limit: number): Promise<Versioned<AlertDelivery>[]> {
    if (limit <= 0) return [];
    await this.ensureTables();
    // ISO instants in one format compare as strings.
    const filter = odata`state eq ${'pending'} and nextAttemptAt le ${now}`;
    const due = await storageCall(
      'list due alert deliveries',
      async () => {
        const found: Versioned<AlertDelivery>[] = [];
        for await (const entity of this.outbox.listEntities<DeliveryEntity>({
          queryOptions: { filter },
        })) {
          found.push({ value: JSON.parse(entity.doc) as AlertDelivery, etag: entity.etag });
        }
        return found;
      },
      this.recreate,
    );
    // The table answers in key order, not time order: the oldest are found among all due.
    return due.sort((a, b) => alertStoreRules.oldestFirst(a.value, b.value)).slice(0, limit);
  }

  async settle(next: AlertDelivery, previous: Versioned<AlertDelivery>): Promise<void> {
    await this.ensureTables();
    const entity = deliveryEntity(next);
    await conditionalWrite(this.outbox, entity, previous.etag, 'alert delivery', this.forRecord);
  }

  async findDelivery(
    sink: AlertDelivery['sink'],
    notificationId: string,
  ): Promise<AlertDelivery | undefined> {
    await this.ensureTables();
    return storageCall(
      'read alert delivery',
      async () => {
        try {
          const entity = await this.outbox.getEntity<DeliveryEntity>(
            sink,
            escapeKey(notificationId),
          );
          return JSON.parse(entity.doc) as AlertDelivery;
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.recreate,
    );
  }

  async *listDeliveries(): AsyncIterable<AlertDelivery> {
    await this.ensureTables();
    const pages = this.outbox.listEntities<DeliveryEntity>().byPage({ maxPageSize: 500 });
    try {
      for await (const page of pages) {
        for (const entity of page) yield JSON.parse(entity.doc) as AlertDelivery;
      }
    } catch (error) {
      // A table deleted since start-up holds nothing: made again, and the listing ends.
      if (classifyStorageAnswer(error) === 'missing-resource') {
        await this.ensureTables.again();
        return;
      }
      // Any other answer means what it means everywhere else (a TransientFault, a refusal).
      await storageCall('list alert deliveries', () => Promise.reject(error));
    }
  }

  private async applyOne(t: AlertTransition): Promise<void> {
    const keys = alertKeys(t);
    const home = await this.read<AlertEntity>('open alert', keys.home);
    if (t.kind === 'resolved') {
      // Where the alert was put, and where this transition would have put it.
      const groups = new Set([home?.group, keys.group]);
      for (const group of groups) {
        if (group === undefined) continue;
        const member = { partitionKey: group, rowKey: keys.home.rowKey };
        await this.deleteIfEpisode('alert group entry', member, t.alertId);
      }
      await this.deleteIfEpisode('open alert', keys.home, t.alertId, home);
      return;
    }
    if (home && !alertStoreRules.replaces(JSON.parse(home.doc) as AlertState, t)) return;

    const state = stateOfTransition(t);
    const doc = JSON.stringify(state);
    if (keys.group !== undefined) {
      await this.put('alert group entry', {
        partitionKey: keys.group,
        rowKey: keys.home.rowKey,
        fleetSubject: fleetSubject(state),
        subject: state.subject,
        alertId: state.id,
        doc,
      });
    }
    if (home?.group !== undefined && home.group !== keys.group)
      await this.deleteEntity('alert group entry', {
        partitionKey: home.group,
        rowKey: home.rowKey,
      });
    const entity: AlertEntity = {
      ...keys.home,
      scope: state.scope,
      rule: state.rule,
      subject: state.subject,
      severity: state.severity,
      peakSeverity: state.peakSeverity,
      alertId: state.id,
      episodeStartedAt: state.episodeStartedAt,
      doc,
    };
    if (state.hub !== undefined) entity.hub = state.hub;
    if (state.deviceId !== undefined) entity.deviceId = state.deviceId;
    if (keys.group !== undefined) entity.group = keys.group;
    await this.put('open alert', entity);
  }

  private async read<T extends object>(
    what: string,
    keys: EntityKeys,
  ): Promise<TableEntityResult<T> | undefined> {
    return storageCall(
      `read ${what}`,
      async () => {
        try {
          return await this.alerts.getEntity<T>(keys.partitionKey, keys.rowKey);
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.forRecord,
    );
  }

  private async put(what: string, entity: AlertEntity): Promise<void> {
    await storageCall(
      `write ${what}`,
      () => this.alerts.upsertEntity(entity, 'Replace'),
      this.forRecord,
    );
  }

  /** Deletes an entity if it is there (already gone: done). */
  private async deleteEntity(what: string, keys: EntityKeys, etag?: string): Promise<boolean> {
    return storageCall(
      `delete ${what}`,
      async () => {
        try {
          await this.alerts.deleteEntity(keys.partitionKey, keys.rowKey, etag ? { etag } : {});
          return true;
        } catch (error) {
          const status = statusOf(error);
          if (status === 404 && classifyStorageAnswer(error) !== 'missing-resource') return true;
          if (status === 412) return false;
          throw error;
        }
      },
      this.forRecord,
    );
  }

  /**
   * Deletes the entity at `keys` if it holds episode `alertId` (`known`: as just read), under
   * the ETag read, so a newer episode written meanwhile stays; if it changed since the read,
   * reads and decides again.
   */
  private async deleteIfEpisode(
    what: string,
    keys: EntityKeys,
    alertId: string,
    known?: TableEntityResult<AlertEntity>,
  ): Promise<void> {
    let entity = known;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      entity ??= await this.read<AlertEntity>(what, keys);
      if (entity?.alertId !== alertId) return;
      if (await this.deleteEntity(what, keys, entity.etag)) return;
      entity = undefined;
    }
    throw new WriteConflict(`${what} kept changing while it was being removed`);
  }
}

/** Requests in flight at once for one call: each alert's, each delivery's are independent. */
const PARALLEL_REQUESTS = 16;
/** Reads and deletes of one entity that keeps changing under us before giving up. */
const MAX_ATTEMPTS = 8;
const FLEET_PARTITION = 'fleet';
/** Device alerts' home partitions, `d-<escaped hub>`: every key that starts with `d-`. */
const DEVICE_HOMES = `PartitionKey ge 'd-' and PartitionKey lt 'd.'`;
/**
 * Table keys hold at most 1 KiB, and a fleet alert's subject (its cause: an issuer's name among
 * others) can be longer escaped. Longer keys are `~` and a hash: `~` is never in an escaped key.
 */
const MAX_READABLE_KEY = 512;

interface EntityKeys {
  partitionKey: string;
  rowKey: string;
}

/** An open alert at home, or (fewer columns) in its group. */
interface AlertEntity extends EntityKeys {
  doc: string;
  alertId: string;
  subject: string;
  scope?: string;
  rule?: string;
  severity?: string;
  peakSeverity?: string;
  episodeStartedAt?: string;
  hub?: string;
  deviceId?: string;
  /** Home of a device alert: the partition of the group that holds it too. */
  group?: string;
  /** Group entry: the group's subject, compared because the partition is a hash. */
  fleetSubject?: string;
}

interface DeliveryEntity extends EntityKeys {
  doc: string;
  state: AlertDelivery['state'];
  nextAttemptAt: string;
  queuedAt: string;
}

/** Where an alert lives: its home, and for a device alert its group's partition. */
function alertKeys(a: AlertCondition): { home: EntityKeys; group?: string } {
  return storable(`alert ${a.rule} for ${a.subject}`, () => {
    const rowKey = alertRowKey(alertKey(a));
    if (a.scope === 'fleet') return { home: { partitionKey: FLEET_PARTITION, rowKey } };
    return {
      home: { partitionKey: devicePartition(a.hub ?? ''), rowKey },
      group: groupPartition(fleetSubject(a)),
    };
  });
}

function alertRowKey(key: string): string {
  const escaped = escapeKey(key);
  return escaped.length <= MAX_READABLE_KEY ? escaped : `~${sha256(key)}`;
}

function devicePartition(hub: string): string {
  return `d-${escapeKey(hub)}`;
}

function groupPartition(subject: string): string {
  return `g-${sha256(subject).slice(0, 32)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The query for open alerts at home that can match `filter`; undefined: none can. */
function homeQuery(filter: AlertFilter): string | undefined {
  const parts: string[] = [];
  if (filter.hub !== undefined) {
    if (filter.scope === 'fleet') return undefined;
    let partition: string;
    try {
      partition = devicePartition(filter.hub);
    } catch (error) {
      if (error instanceof UnstorableKey) return undefined; // nothing was stored under it
      throw error;
    }
    parts.push(odata`PartitionKey eq ${partition}`);
  } else if (filter.scope === 'fleet') parts.push(odata`PartitionKey eq ${FLEET_PARTITION}`);
  else if (filter.scope === 'device') parts.push(DEVICE_HOMES);
  else parts.push(`(${odata`PartitionKey eq ${FLEET_PARTITION}`} or (${DEVICE_HOMES}))`);
  if (filter.rule !== undefined) parts.push(odata`rule eq ${filter.rule}`);
  if (filter.severity !== undefined) parts.push(odata`severity eq ${filter.severity}`);
  return parts.join(' and ');
}

function deliveryEntity(d: AlertDelivery): DeliveryEntity {
  return storable(`alert delivery ${d.notification.id} to ${d.sink}`, () => ({
    partitionKey: d.sink,
    rowKey: escapeKey(d.notification.id),
    doc: JSON.stringify(d),
    state: d.state,
    nextAttemptAt: d.nextAttemptAt,
    queuedAt: d.queuedAt,
  }));
}

/** Keys that cannot be stored unaltered make the record unstorable, not the platform faulty. */
function storable<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof UnstorableKey) throw new RecordRejected(`${what}: ${error.message}`);
    throw error;
  }
}

/**
 * Runs `work` on every item, at most `limit` at once, and waits for all of them (those under
 * way finish) before throwing the first failure.
 */
async function eachInParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const failed = (await Promise.allSettled(workers)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
