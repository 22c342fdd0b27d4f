import { MINUTE_MS, isoUtc } from '../../domain/Clock';
import { deviceKeyString } from '../../domain/DeviceKey';
import { NEEDS_REQUEST, RenewalDemand } from '../../domain/renewal/CapacityPlanner';
import { renewalIndexEntry } from '../../domain/renewal/renewalIndexEntry';
import {
  INDEX_START,
  IndexPlace,
  compareIndexOrder,
  comparePlaces,
  indexEntryId,
  isAfter,
  placeAfter,
  placeOfTime,
  timeOfPlace,
} from '../../domain/renewal/renewalIndexOrder';
import { TouchedRecord } from '../AuditOutbox';
import { ActionEntry, CertificateLedger } from '../ports';

export interface IndexWindowSettings {
  /** How far ahead the planner looks (the sweep's planning horizon). */
  horizonMs: number;
  /**
   * When the window holds more entries one by one than this (a backlog the rate cannot clear),
   * each sweep reads this many of them again, in rotation, instead of all of them.
   */
  backlogReadsPerSweep?: number;
  /** A sweep longer than this after this window's last one reads the whole horizon again. */
  maxGapMs?: number;
  /**
   * The due read starts this long before the last sweep, so an entry written a little in the
   * past (another instance's clock, a write that landed after the last read) is still found.
   */
  nearMarginMs?: number;
}

export const DEFAULT_BACKLOG_READS_PER_SWEEP = 2_000;
/** One sweep a minute: a longer gap means another instance may have swept meanwhile. */
export const DEFAULT_MAX_GAP_MS = 90_000;
export const DEFAULT_NEAR_MARGIN_MS = MINUTE_MS;

/** Which renewals the plan may ask now: a hub's (paused or not), and each entry's. */
export interface Askable {
  hubOpen: (hub: string) => boolean;
  /** Only ever narrower than `hubOpen` (it is applied to entries read, not to counts). */
  requestable: (entry: ActionEntry) => boolean;
}

interface MinuteCounts {
  fresh: number;
  retries: number;
}

/** A stretch of the index known by its counts: renewals waiting, by hub and minute due. */
interface Stretch {
  /** Where the stretch ends (it starts where the one before it, or the front, ends). */
  hi: IndexPlace;
  /** Index entries in it, renewals or not: what reading it again costs. */
  entries: number;
  byHub: Map<string, Map<number, MinuteCounts>>;
}

/**
 * The renewal index as the sweep last read it, kept between sweeps, so a sweep reads what is
 * due and what changed instead of its whole planning horizon (after a CA rotation the horizon
 * can hold 360,000 renewals, of which the rate asks 500 a minute).
 *
 * Near entries are held one by one (the front: everything due by the end of this minute, and
 * what the plan starts early); farther ones only as counts by hub and by the minute each is due
 * (the tail), which is all the capacity plan needs of them (planFromDemand). Each sweep:
 *
 * - reads the minute entering the horizon, and counts it (`actionsInOrder` from the old end);
 * - reads again what it holds one by one, from the start of the index, so what changed there is
 *   seen (a certificate first reported when already due included); when that is more than
 *   `backlogReadsPerSweep` (a backlog the rate cannot clear), a share of it in rotation, and
 *   what fell due since a little before the last sweep;
 * - reads ahead, entry by entry, as far as the plan starts renewals early (`readAhead`);
 * - and takes in the records it wrote (`recordWrites`).
 *
 * The counts are estimates: they are what the index held when those minutes were read, plus the
 * sweep's own writes; a write by anyone else (a certificate reported, another instance's retry)
 * shows up when its entry comes near, or is read. The first sweep of a process, one after a gap
 * (another instance swept meanwhile), one whose clock went back, one after a sweep that failed
 * while writing, and every sweep on a ledger without ordered reads read the whole horizon, as
 * the sweep always did.
 */
export class RenewalIndexWindow {
  /** Entries held one by one, by indexEntryId: every entry up to `frontHi`. */
  private readonly front = new Map<string, ActionEntry>();
  /** The renewals of `front` waiting within the horizon, as of one `now` (until it changes). */
  private waitingCache?: { now: string; entries: ActionEntry[] };
  private frontHi: IndexPlace = INDEX_START;
  /** After the front, up to `end`. */
  private tail: Stretch[] = [];
  /** The window holds the entries due before this time. */
  private end = '';
  private lastNow?: string;
  /** Where the next rotating read of a backlog starts. */
  private rotation: IndexPlace = INDEX_START;
  /** A sweep began writing and has not told what it wrote (it failed part way). */
  private writesPending = false;
  private readonly backlogReads: number;
  private readonly maxGapMs: number;
  private readonly nearMarginMs: number;
  /** What the window asked of the ledger, for tests and the benchmark. */
  readonly reads = { calls: 0, entries: 0, wholeHorizon: 0 };

  constructor(
    private readonly ledger: CertificateLedger,
    private readonly settings: IndexWindowSettings,
  ) {
    this.backlogReads = settings.backlogReadsPerSweep ?? DEFAULT_BACKLOG_READS_PER_SWEEP;
    this.maxGapMs = settings.maxGapMs ?? DEFAULT_MAX_GAP_MS;
    this.nearMarginMs = settings.nearMarginMs ?? DEFAULT_NEAR_MARGIN_MS;
  }

  /** Brings the window to `now`: reads the minute entering the horizon and what is due. */
  async advance(now: string): Promise<void> {
    const at = Date.parse(now);
    const dueEnd = isoUtc((Math.floor(at / MINUTE_MS) + 1) * MINUTE_MS);
    const horizonEnd = isoUtc(Math.max(at + this.settings.horizonMs, Date.parse(dueEnd)));
    const last = this.lastNow;
    // A read that fails part way leaves the window to be read whole at the next sweep.
    this.lastNow = undefined;
    const gap = last === undefined ? Infinity : at - Date.parse(last);
    if (!this.ledger.actionsInOrder || gap < 0 || gap > this.maxGapMs || this.writesPending) {
      await this.readWhole(horizonEnd);
    } else {
      if (this.end < horizonEnd) await this.extend(horizonEnd);
      await this.readDue(last!, dueEnd);
    }
    this.lastNow = now;
  }

  /** Every entry due by `now`, in index order: bookkeeping, and renewals whose time has come. */
  dueBy(now: string): ActionEntry[] {
    return [...this.front.values()].filter((e) => e.actionAt <= now).sort(compareIndexOrder);
  }

  /**
   * The renewals that compete for the current minute by themselves (shared/domain/renewal/
   * CapacityPlanner.ts, DemandPlanInput's `due`): running campaigns whose next attempt has come,
   * renewals not begun due by the end of the minute.
   */
  dueRenewals(now: string, askable: Askable): ActionEntry[] {
    const thisMinute = minuteOf(now);
    return this.waitingInFront(now)
      .filter((e) =>
        e.status === 'healthy' ? minuteOf(renewalTime(e)) <= thisMinute : renewalTime(e) <= now,
      )
      .filter(askable.requestable);
  }

  /** The renewals waiting beyond the current minute, counted by the minute each is due. */
  demand(now: string, askable: Askable): RenewalDemand {
    const thisMinute = minuteOf(now);
    const horizon = Date.parse(now) + this.settings.horizonMs;
    const fresh = new Map<number, number>();
    const retries = new Map<number, number>();
    for (const e of this.waitingInFront(now)) {
      if (!askable.requestable(e)) continue;
      const minute = minuteOf(renewalTime(e));
      if (e.status === 'healthy') {
        if (minute > thisMinute) add(fresh, minute, 1);
      } else if (renewalTime(e) > now) add(retries, minute, 1);
    }
    for (const stretch of this.tail) {
      for (const [hub, minutes] of stretch.byHub) {
        if (!askable.hubOpen(hub)) continue;
        for (const [minute, counts] of minutes) {
          if (minute * MINUTE_MS >= horizon) continue;
          add(fresh, minute, counts.fresh);
          add(retries, minute, counts.retries);
        }
      }
    }
    return { fresh, retries };
  }

  /**
   * The renewals not begun due after the current minute that the window holds, earliest due
   * first (then earliest expiry); `complete` when no entry it has not read could come before the
   * `count`-th (entries at the same instant as the last read may).
   */
  earliest(
    now: string,
    askable: Askable,
    count: number,
  ): { entries: ActionEntry[]; complete: boolean } {
    if (count <= 0) return { entries: [], complete: true };
    const thisMinute = minuteOf(now);
    const entries = this.waitingInFront(now)
      .filter((e) => e.status === 'healthy' && minuteOf(renewalTime(e)) > thisMinute)
      .filter(askable.requestable)
      .sort(
        (a, b) =>
          cmp(renewalTime(a), renewalTime(b)) ||
          cmp(a.validUntil, b.validUntil) ||
          compareIndexOrder(a, b),
      );
    const last = entries[count - 1];
    const complete =
      this.tail.length === 0 || (last !== undefined && renewalTime(last) <= this.frontHi.actionAt);
    return { entries, complete };
  }

  /**
   * Reads on from the front, entry by entry, about far enough to hold `shortfall` more renewals
   * not begun (guessed from the counts; a later `round` reads more). False when there is nothing
   * left to read.
   */
  async readAhead(shortfall: number, round: number): Promise<boolean> {
    if (this.tail.length === 0) return false;
    let need = Math.max(1, shortfall);
    let limit = 0;
    for (const stretch of this.tail) {
      const fresh = freshIn(stretch);
      if (fresh >= need) {
        limit += Math.ceil((stretch.entries * need) / fresh);
        need = 0;
        break;
      }
      need -= fresh;
      limit += stretch.entries;
    }
    limit = Math.max(Math.ceil(limit * 1.1) + 16, 64 * 2 ** Math.min(round, 12));
    const from = this.frontHi;
    const read = await this.read(from, this.end, limit);
    this.absorb(from, read.to, read.entries);
    return true;
  }

  /** Renewals waiting within the horizon: the held ones, and the counted ones. */
  pending(now: string): number {
    const horizon = Date.parse(now) + this.settings.horizonMs;
    let count = this.waitingInFront(now).length;
    for (const stretch of this.tail) {
      for (const minutes of stretch.byHub.values()) {
        for (const [minute, counts] of minutes) {
          if (minute * MINUTE_MS < horizon) count += counts.fresh + counts.retries;
        }
      }
    }
    return count;
  }

  /**
   * Takes in what the sweep did: the entries it asked from leave (whatever the answer, their
   * record says what comes next), and each record it wrote or read puts its own entry in its
   * place (held, or counted). Entries it looked at and left alone stay.
   */
  recordWrites(touched: readonly TouchedRecord[], asked: readonly ActionEntry[]): void {
    this.writesPending = false;
    // Read whole at every sweep, there is nothing to keep up to date.
    if (!this.ledger.actionsInOrder) return;
    for (const entry of asked) this.dropFront(indexEntryId(entry));
    const latest = new Map<string, TouchedRecord>();
    for (const t of touched) latest.set(deviceKeyString(t.key), t);
    if (latest.size === 0) return;
    for (const [id, e] of this.front) if (latest.has(deviceKeyString(e))) this.dropFront(id);
    for (const t of latest.values()) {
      const entry = t.record ? renewalIndexEntry(t.record) : undefined;
      if (entry) this.place(entry);
    }
  }

  /**
   * Keeps one by one only what the next sweep needs held (what is due by the end of the minute,
   * and up to the last renewal started early); the rest of the front becomes counts.
   */
  settle(now: string, startedEarly: readonly ActionEntry[]): void {
    if (!this.ledger.actionsInOrder) return;
    let keep = placeOfTime(isoUtc((minuteOf(now) + 1) * MINUTE_MS));
    for (const e of startedEarly) {
      const after = placeAfter(e);
      if (comparePlaces(after, keep) > 0) keep = after;
    }
    if (comparePlaces(keep, this.frontHi) >= 0) return;
    const moved = [...this.front.values()].filter((e) => isAfter(e, keep));
    for (const e of moved) this.dropFront(indexEntryId(e));
    this.tail.unshift(stretchOf(moved, this.frontHi));
    this.frontHi = keep;
  }

  /**
   * The sweep is about to write records: until it tells what it wrote (`recordWrites`), the
   * window does not know the index, and a sweep that fails before then leaves it to be read whole.
   */
  expectWrites(): void {
    this.writesPending = true;
  }

  /** The whole horizon, as the sweep read it before there was a window. */
  private async readWhole(end: string): Promise<void> {
    this.writesPending = false;
    this.reads.wholeHorizon += 1;
    const entries: ActionEntry[] = [];
    const source = this.ledger.actionsInOrder
      ? this.ledger.actionsInOrder({ before: end })
      : this.ledger.actionsDueBefore(end);
    this.reads.calls += 1;
    for await (const entry of source) entries.push(entry);
    this.reads.entries += entries.length;
    this.front.clear();
    this.waitingCache = undefined;
    for (const entry of entries) this.addFront(entry);
    this.frontHi = placeOfTime(end);
    this.tail = [];
    this.end = end;
    this.rotation = INDEX_START;
  }

  /** Counts the entries that entered the horizon since the last sweep. */
  private async extend(horizonEnd: string): Promise<void> {
    const read = await this.read(placeOfTime(this.end), horizonEnd);
    this.tail.push(stretchOf(read.entries, placeOfTime(horizonEnd)));
    this.end = horizonEnd;
  }

  /**
   * Reads again what the window holds one by one, and on to the end of this minute: all of it
   * from the start of the index; or, when it holds more than `backlogReads` (a backlog the rate
   * cannot clear, or many renewals started early at once), a rotating share of it, and what fell
   * due since a little before the last sweep.
   */
  private async readDue(last: string, dueEnd: string): Promise<void> {
    if (this.front.size <= this.backlogReads) {
      const read = await this.read(INDEX_START, maxTime(dueEnd, timeOfPlace(this.frontHi)));
      this.absorb(INDEX_START, read.to, read.entries);
      this.rotation = INDEX_START;
      return;
    }
    const share = await this.read(this.rotation, timeOfPlace(this.frontHi), this.backlogReads);
    this.absorb(this.rotation, share.to, share.entries);
    this.rotation = share.complete ? INDEX_START : share.to;
    const near = placeOfTime(isoUtc(Date.parse(last) - this.nearMarginMs));
    const read = await this.read(near, dueEnd);
    this.absorb(near, read.to, read.entries);
  }

  /** Entries after `from` and before `before`, at most `limit`; `to`: where the read ended. */
  private async read(
    from: IndexPlace,
    before: string,
    limit?: number,
  ): Promise<{ entries: ActionEntry[]; to: IndexPlace; complete: boolean }> {
    if (before <= from.actionAt) return { entries: [], to: from, complete: true };
    const range = {
      before,
      ...(from.after
        ? { after: { actionAt: from.actionAt, ...from.after } }
        : from.actionAt
          ? { from: from.actionAt }
          : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    const entries: ActionEntry[] = [];
    this.reads.calls += 1;
    for await (const entry of this.ledger.actionsInOrder!(range)) entries.push(entry);
    this.reads.entries += entries.length;
    const complete = limit === undefined || entries.length < limit;
    const last = entries[entries.length - 1];
    return { entries, complete, to: complete || !last ? placeOfTime(before) : placeAfter(last) };
  }

  /** `entries` are all the index holds in (from, to]: they replace what the window held there. */
  private absorb(from: IndexPlace, to: IndexPlace, entries: readonly ActionEntry[]): void {
    for (const [id, e] of this.front) if (isAfter(e, from) && !isAfter(e, to)) this.dropFront(id);
    if (comparePlaces(to, this.frontHi) > 0) {
      // Stretches read whole go; of the one read in part, what was read is taken off its counts.
      let lo = this.frontHi;
      const beyond = entries.filter((e) => isAfter(e, lo));
      let i = 0;
      while (this.tail.length > 0 && comparePlaces(this.tail[0]!.hi, to) <= 0) {
        lo = this.tail.shift()!.hi;
        while (i < beyond.length && !isAfter(beyond[i]!, lo)) i += 1;
      }
      const partial = this.tail[0];
      if (partial) for (; i < beyond.length; i += 1) count(partial, beyond[i]!, -1);
      this.frontHi = to;
    }
    for (const e of entries) this.addFront(e);
  }

  /** An entry a write put in the index: held when the front reaches it, else counted. */
  private place(entry: ActionEntry): void {
    if (!isAfter(entry, this.frontHi)) {
      this.addFront(entry);
      return;
    }
    if (entry.actionAt >= this.end) return; // read when the horizon reaches it
    const stretch = this.tail.find((s) => !isAfter(entry, s.hi));
    if (stretch) count(stretch, entry, 1);
  }

  /** Renewals the front holds that wait for a request within the horizon. */
  private waitingInFront(now: string): ActionEntry[] {
    if (this.waitingCache?.now === now) return this.waitingCache.entries;
    const horizon = isoUtc(Date.parse(now) + this.settings.horizonMs);
    const entries = [...this.front.values()].filter(
      (e) => NEEDS_REQUEST.includes(e.status) && e.validUntil > now && renewalTime(e) < horizon,
    );
    this.waitingCache = { now, entries };
    return entries;
  }

  private addFront(entry: ActionEntry): void {
    this.front.set(indexEntryId(entry), entry);
    this.waitingCache = undefined;
  }

  private dropFront(id: string): void {
    if (this.front.delete(id)) this.waitingCache = undefined;
  }
}

/** The time the planner takes as the renewal's (not an earlier alert check). */
function renewalTime(entry: ActionEntry): string {
  return entry.renewalAt ?? entry.actionAt;
}

function stretchOf(entries: readonly ActionEntry[], hi: IndexPlace): Stretch {
  const stretch: Stretch = { hi, entries: 0, byHub: new Map() };
  for (const e of entries) count(stretch, e, 1);
  return stretch;
}

/** Adds (or, with -1, takes off) an entry's share of a stretch's counts. */
function count(stretch: Stretch, entry: ActionEntry, by: 1 | -1): void {
  stretch.entries = Math.max(0, stretch.entries + by);
  if (!NEEDS_REQUEST.includes(entry.status)) return;
  const minute = minuteOf(renewalTime(entry));
  let minutes = stretch.byHub.get(entry.hub);
  if (!minutes) stretch.byHub.set(entry.hub, (minutes = new Map()));
  const counts = minutes.get(minute) ?? { fresh: 0, retries: 0 };
  if (entry.status === 'healthy') counts.fresh = Math.max(0, counts.fresh + by);
  else counts.retries = Math.max(0, counts.retries + by);
  if (counts.fresh + counts.retries > 0) minutes.set(minute, counts);
  else minutes.delete(minute);
}

function freshIn(stretch: Stretch): number {
  let fresh = 0;
  for (const minutes of stretch.byHub.values())
    for (const counts of minutes.values()) fresh += counts.fresh;
  return fresh;
}

function add(counts: Map<number, number>, minute: number, n: number): void {
  if (n > 0) counts.set(minute, (counts.get(minute) ?? 0) + n);
}

function minuteOf(iso: string): number {
  return Math.floor(Date.parse(iso) / MINUTE_MS);
}

function maxTime(a: string, b: string): string {
  return a > b ? a : b;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
