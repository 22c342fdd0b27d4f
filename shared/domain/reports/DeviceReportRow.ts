import { DeviceRecord } from '../DeviceRecord';
import { CsvValue, csvRecord } from './csvRecord';
import { FleetState, cohortOf, fleetStateOf } from './fleetState';

/**
 * One device in a device report: the same fields, in this order, as a JSON object (JSON, JSON
 * Lines) and as a CSV row. Dates are the ledger's UTC ISO 8601; a field the ledger does not
 * know is null (empty in CSV). Certfleet's own words only, except what the device reported
 * about its certificate (subject, issuer), which CSV neutralises (csvRecord.ts).
 */
export interface DeviceReportRow {
  hub: string;
  deviceId: string;
  state: FleetState;
  cohort: string | null;
  connection: string;
  lastSeenAt: string | null;
  /** `pem` (from the certificate itself) or `reported` (from the twin's fields). */
  source: string | null;
  validFrom: string | null;
  validUntil: string | null;
  renewalDueAt: string | null;
  subject: string | null;
  issuer: string | null;
  serialNumber: string | null;
  thumbprintSha256: string | null;
  keyAlgorithm: string | null;
  /** The campaign in progress or last ended, if any. */
  campaignStartedAt: string | null;
  attempts: number;
  failures: number;
  lastAttemptAt: string | null;
  lastOutcome: string | null;
  /** Why the renewal is retrying, unreachable, failed or expired. */
  renewalReason: string | null;
  /** Finding codes on the record. */
  findings: string[];
  /** Rules of the device's open alerts. */
  alerts: string[];
}

export const DEVICE_REPORT_COLUMNS = [
  'hub',
  'deviceId',
  'state',
  'cohort',
  'connection',
  'lastSeenAt',
  'source',
  'validFrom',
  'validUntil',
  'renewalDueAt',
  'subject',
  'issuer',
  'serialNumber',
  'thumbprintSha256',
  'keyAlgorithm',
  'campaignStartedAt',
  'attempts',
  'failures',
  'lastAttemptAt',
  'lastOutcome',
  'renewalReason',
  'findings',
  'alerts',
] as const satisfies readonly (keyof DeviceReportRow)[];

export function deviceReportRow(record: DeviceRecord): DeviceReportRow {
  const c = record.current;
  const r = record.renewal;
  return {
    hub: record.hub,
    deviceId: record.deviceId,
    state: fleetStateOf(record),
    cohort: record.cohort !== undefined ? cohortOf(record) : null,
    connection: record.connection.state,
    lastSeenAt: record.lastSeenAt ?? null,
    source: c?.source ?? null,
    validFrom: c?.validFrom ?? null,
    validUntil: c?.validUntil ?? null,
    renewalDueAt: record.renewalDueAt ?? null,
    subject: c?.subject ?? null,
    issuer: c?.issuer ?? null,
    serialNumber: c?.serialNumber ?? null,
    thumbprintSha256: c?.thumbprintSha256 ?? null,
    keyAlgorithm: c?.keyAlgorithm ?? null,
    campaignStartedAt: r?.startedAt ?? null,
    attempts: r?.attempts ?? 0,
    failures: r?.failures ?? 0,
    lastAttemptAt: r?.lastAttempt?.at ?? null,
    lastOutcome: r?.lastAttempt?.outcome ?? null,
    renewalReason: r?.reason ?? null,
    findings: record.findings.map((f) => f.code),
    alerts: (record.alerts ?? []).map((a) => a.rule),
  };
}

/** The CSV header record (without its separator). */
export function deviceReportCsvHeader(): string {
  return csvRecord(DEVICE_REPORT_COLUMNS);
}

/** A row as a CSV record (without its separator); lists are joined with `;`. */
export function deviceReportCsvRecord(row: DeviceReportRow): string {
  return csvRecord(
    DEVICE_REPORT_COLUMNS.map((column): CsvValue => {
      const value = row[column];
      return Array.isArray(value) ? value.join(';') : value;
    }),
  );
}
