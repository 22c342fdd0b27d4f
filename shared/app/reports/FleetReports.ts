import {
  AuditCheck,
  AuditCheckSettings,
  FleetAuditChecks,
  TrustedCa,
} from '../../domain/audit/FleetAuditChecks';
import { BadAuditLine } from '../../domain/AuditChain';
import { AuditEntry } from '../../domain/AuditEntry';
import { Clock, isoUtc } from '../../domain/Clock';
import { deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import {
  AuditTrailQuery,
  inAuditTrailQuery,
  utcDatesBetween,
} from '../../domain/reports/AuditTrailQuery';
import { DeviceHistory, deviceHistory, firstDateOf } from '../../domain/reports/DeviceHistory';
import {
  DeviceFilter,
  FLEET_WIDE_CHECKS,
  deviceChecksOf,
  matchesDeviceFilter,
} from '../../domain/reports/DeviceFilter';
import {
  DeviceReportRow,
  deviceReportCsvHeader,
  deviceReportCsvRecord,
  deviceReportRow,
} from '../../domain/reports/DeviceReportRow';
import { FleetSummary } from '../../domain/reports/FleetSummary';
import { FleetSummaryBuilder } from '../../domain/reports/FleetSummaryBuilder';
import { inFleet } from '../../domain/reports/fleetState';
import {
  ReportFormat,
  csvText,
  jsonArrayText,
  jsonLinesText,
} from '../../domain/reports/reportText';
import { mapWithConcurrency } from '../concurrency';
import { lookUpDevice } from '../lookUpDevice';
import { AlertStore, AuditTrail, CertificateLedger } from '../ports';

/** Audit dates a history reads at once: each is a listing and a download per shard blob. */
const HISTORY_DATES_IN_FLIGHT = 4;

export type HistoryLookup =
  { found: DeviceHistory } | { missing: true } | { ambiguous: readonly string[] };

/**
 * Use case: the fleet reports auditors read (`certfleet report …`, `GET /api/reports/…`, the
 * dashboard): the fleet summary, the device list, one device's history and the audit trail by
 * time range. Everything the ledger holds is read a page at a time and streamed or counted as
 * it comes (the domain's FleetSummaryBuilder, the report text writers): no report holds the
 * fleet in memory.
 */
export class FleetReports {
  constructor(
    private readonly deps: {
      ledger: CertificateLedger;
      alertStore: AlertStore;
      audit: AuditTrail;
      clock: Clock;
      /** The fleet audit checks' settings and the trust bundle's CAs, as RunFleetAudit has them. */
      auditChecks: AuditCheckSettings;
      cas: readonly TrustedCa[];
    },
  ) {}

  /** The fleet as it stands now: one pass over the ledger and one over the open alerts. */
  async summary(): Promise<FleetSummary> {
    const builder = new FleetSummaryBuilder(isoUtc(this.deps.clock.now()), {
      settings: this.deps.auditChecks,
      cas: this.deps.cas,
    });
    for await (const record of this.deps.ledger.list()) builder.add(record);
    for await (const alert of this.deps.alertStore.listOpen()) builder.addOpenAlert(alert);
    return builder.summary();
  }

  /**
   * The fleet's devices that pass the filter, one row each, in the ledger's order (hub, then
   * device id), streamed. A filter on a fleet-wide check (certificate-shared, public-key-shared)
   * first runs the fleet audit checks over the whole ledger to learn which devices they name
   * (what that pass keeps grows with the fleet, as `certfleet audit checks` does), then streams.
   */
  async *devices(filter: DeviceFilter): AsyncIterable<DeviceReportRow> {
    const at = isoUtc(this.deps.clock.now());
    const check = filter.finding && 'check' in filter.finding ? filter.finding.check : undefined;
    let checksOf = (record: DeviceRecord): readonly AuditCheck[] =>
      deviceChecksOf(record, at, this.deps.auditChecks);
    if (check !== undefined && FLEET_WIDE_CHECKS.includes(check)) {
      const named = await this.devicesNamedBy(check, at);
      checksOf = (record) => (named.has(deviceKeyString(record)) ? [check] : []);
    }
    const records = this.deps.ledger.list(filter.hub !== undefined ? { hub: filter.hub } : {});
    for await (const record of records) {
      if (inFleet(record) && matchesDeviceFilter(record, filter, checksOf))
        yield deviceReportRow(record);
    }
  }

  /** The device list as text chunks: a JSON array, JSON Lines, or CSV (RFC 4180, CRLF). */
  deviceText(format: ReportFormat, filter: DeviceFilter): AsyncIterable<string> {
    const rows = this.devices(filter);
    if (format === 'csv') return csvText(deviceReportCsvHeader(), rows, deviceReportCsvRecord);
    return format === 'jsonl' ? jsonLinesText(rows) : jsonArrayText(rows);
  }

  /**
   * One device's history: its ledger record and its audit records. The audit trail is filed by
   * UTC date, so this reads every date from the first the record knows of (its creation, its
   * first certificate: firstDateOf) to today, or the narrower `from`/`to` given: per date, one
   * blob listing and a download of that day's shard blobs, of which only this device's records
   * are kept. A device known for a year costs 365 listings; `from` narrows it.
   */
  async history(
    deviceId: string,
    options: { hub?: string; from?: string; to?: string } = {},
  ): Promise<HistoryLookup> {
    const lookup = await lookUpDevice(this.deps.ledger, deviceId, options.hub);
    if (!('found' in lookup)) return lookup;
    const record = lookup.found;
    const today = isoUtc(this.deps.clock.now()).slice(0, 10);
    const first = firstDateOf(record);
    const from = options.from && options.from > first ? options.from.slice(0, 10) : first;
    const to = options.to && options.to.slice(0, 10) < today ? options.to.slice(0, 10) : today;
    const dates = from <= to ? utcDatesBetween(from, to) : [];
    let badLines = 0;
    const perDate = await mapWithConcurrency(dates, HISTORY_DATES_IN_FLIGHT, async (date) => {
      const mine: AuditEntry[] = [];
      const onBadLine = () => {
        badLines += 1;
      };
      for await (const entry of this.deps.audit.readDate(date, { onBadLine })) {
        if (entry.deviceId === record.deviceId && entry.hub === record.hub) mine.push(entry);
      }
      return mine;
    });
    const entries = perDate.flat();
    return {
      found: deviceHistory(record, entries, {
        from,
        to,
        dates: dates.length,
        records: entries.length,
        badLines,
      }),
    };
  }

  /**
   * The audit records the query asks for, streamed date by date in the trail's order. Lines
   * that do not verify are left out and passed to `onBadLine` (where, never what).
   */
  async *trail(
    query: AuditTrailQuery,
    options: { onBadLine?: (bad: BadAuditLine) => void } = {},
  ): AsyncIterable<AuditEntry> {
    for (const date of utcDatesBetween(query.from, query.to)) {
      for await (const entry of this.deps.audit.readDate(date, options)) {
        if (inAuditTrailQuery(entry, query)) yield entry;
      }
    }
  }

  /** The devices (`hub/deviceId`) the fleet audit checks name under one check. */
  private async devicesNamedBy(check: string, at: string): Promise<Set<string>> {
    const checks = new FleetAuditChecks(at, this.deps.auditChecks, this.deps.cas);
    for await (const record of this.deps.ledger.list()) checks.add(record);
    const named = new Set<string>();
    for (const f of checks.findings())
      if (f.check === check) for (const d of f.devices) named.add(d);
    return named;
  }
}
