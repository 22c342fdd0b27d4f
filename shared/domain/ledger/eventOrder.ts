// The order in which a device's events happened at IoT Hub, whatever order they arrive in: the
// order the ledger applies them in (docs/storage.md, "Delivery order").
import { RememberedEvent } from '../DeviceRecord';
import { identityOf } from './rememberedEvent';

/**
 * A device's events in the order they happened, a function of the set alone (arrival order and
 * duplicates make no difference). Each kind has IoT Hub's own order (AZURE-FACTS.md, "IoT Hub
 * events routed to Event Hubs"):
 * - creations and deletions by their operationTimestamp, which cut the history into lives (at
 *   one instant a deletion first: a report made at the deletion belongs to no life);
 * - within a life, twin reports by their reported `$version` (which orders one device's reported
 *   changes; `$version` starts again in each life), connection changes by their sequence
 *   numbers, and the kinds interleaved by operationTimestamp.
 * Until the creations and deletions arrive, a life can still be told by its reports: a report
 * made after another with a lower `$version` begins a new life, whose create event is late. The
 * order then holds an inferred creation there (`isInferredCreation`), which the ledger applies
 * like a late create event and never remembers.
 */
export function eventOrder(events: readonly RememberedEvent[]): RememberedEvent[] {
  const unique = new Map<string, RememberedEvent>();
  for (const event of events) {
    const identity = identityOf(event);
    if (!unique.has(identity)) unique.set(identity, event);
  }
  const all = [...unique.values()];
  const lifecycle = all
    .filter((e) => e.kind === 'lifecycle')
    .sort((a, b) => byTime(a, b) || rankOf(a) - rankOf(b) || byIdentity(a, b));
  const lives: RememberedEvent[][] = lifecycle.map(() => []);
  lives.push([]);
  for (const event of all) {
    if (event.kind === 'lifecycle') continue;
    // The life an event belongs to: after every creation or deletion up to its instant.
    const life = lifecycle.filter((l) => l.occurredAt <= event.occurredAt).length;
    lives[life]!.push(event);
  }
  const ordered: RememberedEvent[] = [];
  lives.forEach((events, i) => {
    if (i > 0) ordered.push(lifecycle[i - 1]!);
    for (const life of byInferredLives(events)) {
      if (life.start !== undefined) ordered.push(inferredCreation(life.start));
      ordered.push(...inLife(life.events));
    }
  });
  return ordered;
}

const INFERRED = 'inferred from a reported $version that started again';

/** A creation the order infers, not an event IoT Hub sent: applied, never remembered. */
export function isInferredCreation(event: RememberedEvent): boolean {
  return event.kind === 'lifecycle' && event.opType === INFERRED;
}

function startsAgain(report: RememberedEvent, highest: RememberedEvent): boolean {
  if (versionOf(report) < versionOf(highest)) return true;
  const patch = (e: RememberedEvent) => e.kind === 'twin-report' && !e.complete;
  return versionOf(report) === versionOf(highest) && patch(report) && patch(highest);
}

function inferredCreation(occurredAt: string): RememberedEvent {
  return { kind: 'lifecycle', change: 'created', occurredAt, opType: INFERRED };
}

/**
 * Splits a life's events where a report was made after one with a higher `$version`, or a patch
 * after another with the same one: the device id was deleted and created again in between (the
 * reported `$version` grows with each change within a life). Events from that report's time on
 * belong to the later life. (A whole twin may repeat the `$version` of the patch it follows.)
 */
function byInferredLives(
  events: readonly RememberedEvent[],
): { start?: string; events: RememberedEvent[] }[] {
  const reports = events
    .filter((e) => versionOf(e) !== Number.MAX_SAFE_INTEGER)
    .sort((a, b) => byTime(a, b) || versionOf(a) - versionOf(b));
  const starts: string[] = [];
  let highest: RememberedEvent | undefined;
  for (const report of reports) {
    if (highest && report.occurredAt > highest.occurredAt && startsAgain(report, highest))
      starts.push(report.occurredAt);
    if (!highest || versionOf(report) >= versionOf(highest) || starts.at(-1) === report.occurredAt)
      highest = report;
  }
  const lives = [{ events: [] }, ...starts.map((start) => ({ start, events: [] }))] as {
    start?: string;
    events: RememberedEvent[];
  }[];
  for (const event of events) {
    const life = starts.filter((start) => start <= event.occurredAt).length;
    lives[life]!.events.push(event);
  }
  return lives;
}

/** One life's events: each kind in its own order, merged by when they happened. */
function inLife(events: readonly RememberedEvent[]): RememberedEvent[] {
  const reports = events
    .filter((e) => e.kind === 'twin-report')
    .sort((a, b) => versionOf(a) - versionOf(b) || byTime(a, b) || byIdentity(a, b));
  const leaks = events
    .filter((e) => e.kind === 'private-key-leak')
    .sort((a, b) => byTime(a, b) || byIdentity(a, b));
  const connections = events
    .filter((e) => e.kind === 'connection')
    .sort((a, b) => bySequence(a, b) || byIdentity(a, b));
  const queues = [reports, leaks, connections];
  const merged: RememberedEvent[] = [];
  for (;;) {
    let next: RememberedEvent[] | undefined;
    for (const queue of queues) {
      const head = queue[0];
      if (head && (!next || head.occurredAt < next[0]!.occurredAt)) next = queue;
    }
    if (!next) return merged;
    merged.push(next.shift()!);
  }
}

function byTime(a: RememberedEvent, b: RememberedEvent): number {
  return a.occurredAt === b.occurredAt ? 0 : a.occurredAt < b.occurredAt ? -1 : 1;
}

function byIdentity(a: RememberedEvent, b: RememberedEvent): number {
  const x = identityOf(a);
  const y = identityOf(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * A report is ordered by its `$version` when it changed the reported properties the ledger reads
 * (the certificate, or a key put there). One without a `$version`, or one that only carries the
 * twin's tags (ordered by the twin's own `version`, ledger/applyCohort), comes after those.
 */
function versionOf(event: RememberedEvent): number {
  if (event.kind !== 'twin-report' || event.reportedVersion === undefined)
    return Number.MAX_SAFE_INTEGER;
  return event.certificate.present || event.privateKeyReported
    ? event.reportedVersion
    : Number.MAX_SAFE_INTEGER;
}

function bySequence(a: RememberedEvent, b: RememberedEvent): number {
  return a.kind === 'connection' && b.kind === 'connection'
    ? compareHex(a.sequenceNumber, b.sequenceNumber)
    : 0;
}

function rankOf(event: RememberedEvent): number {
  return event.kind === 'lifecycle' && event.change === 'deleted' ? 0 : 1;
}

/** IoT Hub's connection sequence numbers are hex strings of up to 256 bits. */
export function compareHex(a: string, b: string): number {
  const x = BigInt(`0x${a}`);
  const y = BigInt(`0x${b}`);
  return x === y ? 0 : x < y ? -1 : 1;
}
