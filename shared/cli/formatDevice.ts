import { DeviceRecord } from '../domain/DeviceRecord';

/** What the CLI shows of a record: everything but the internal audit outbox. */
export function publicRecord(record: DeviceRecord): Omit<DeviceRecord, 'pendingAudit'> {
  const { pendingAudit: _pending, ...rest } = record;
  return rest;
}

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

export function describeDevice(record: DeviceRecord): string {
  const c = record.current;
  const lines = [
    `${record.hub}/${record.deviceId}  ${record.lifecycle}, ${record.connection.state}${record.lastSeenAt ? `, last seen ${record.lastSeenAt}` : ''}`,
  ];
  if (c) {
    lines.push(
      `  certificate   ${c.validFrom} -> ${c.validUntil} (from ${c.source === 'pem' ? 'PEM' : 'reported fields'})`,
    );
    if (c.subject) lines.push(`  subject       ${c.subject}`);
    if (c.issuer) lines.push(`  issuer        ${c.issuer}`);
    if (c.serialNumber) lines.push(`  serial        ${c.serialNumber}`);
    if (c.thumbprintSha256) lines.push(`  sha256        ${c.thumbprintSha256}`);
    if (c.thumbprintSha1) lines.push(`  sha1          ${c.thumbprintSha1}`);
    if (c.keyAlgorithm) lines.push(`  key           ${c.keyAlgorithm}`);
  } else {
    lines.push('  certificate   none reported');
  }
  if (record.renewalDueAt) lines.push(`  renewal due   ${record.renewalDueAt}`);
  if (record.previous)
    lines.push(`  previous      ${record.previous.validFrom} -> ${record.previous.validUntil}`);
  for (const f of record.findings)
    lines.push(`  finding       [${f.severity}] ${f.code}: ${f.message}`);
  return lines.join('\n');
}
