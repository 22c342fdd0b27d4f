import { DeviceRecord } from '../domain/DeviceRecord';

/** `certfleet devices --format csv`: one row per record, these columns. */
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
  return CSV_COLUMNS.map((col) => csvCell(values[col])).join(',');
}

/** RFC 4180 quoting, and a leading quote mark against formula injection in spreadsheets. */
function csvCell(value: string | undefined): string {
  if (value === undefined) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
