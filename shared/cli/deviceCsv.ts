import { DeviceRecord } from '../domain/DeviceRecord';
import { csvRecord } from '../domain/reports/csvRecord';

/**
 * `certfleet devices --format csv`: one row per record, these columns, written by the reports'
 * CSV writer (shared/domain/reports/csvRecord.ts). Rows end in LF, as they always have here, for
 * the scripts that read this command; `certfleet report devices` ends them in CRLF (RFC 4180).
 */
export const CSV_COLUMNS = [
  'hub',
  'deviceId',
  'lifecycle',
  'connection',
  'lastSeenAt',
  'source',
  'validFrom',
  'validUntil',
  'renewalDueAt',
  'thumbprintSha1',
  'thumbprintSha256',
  'serialNumber',
  'subject',
  'issuer',
  'keyAlgorithm',
  'findings',
] as const;

export function csvRow(record: DeviceRecord): string {
  const c = record.current;
  const values: Record<(typeof CSV_COLUMNS)[number], string | undefined> = {
    hub: record.hub,
    deviceId: record.deviceId,
    lifecycle: record.lifecycle,
    connection: record.connection.state,
    lastSeenAt: record.lastSeenAt,
    source: c?.source,
    validFrom: c?.validFrom,
    validUntil: c?.validUntil,
    renewalDueAt: record.renewalDueAt,
    thumbprintSha1: c?.thumbprintSha1,
    thumbprintSha256: c?.thumbprintSha256,
    serialNumber: c?.serialNumber,
    subject: c?.subject,
    issuer: c?.issuer,
    keyAlgorithm: c?.keyAlgorithm,
    findings: record.findings.map((f) => f.code).join(';'),
  };
  return csvRecord(CSV_COLUMNS.map((col) => values[col]));
}
