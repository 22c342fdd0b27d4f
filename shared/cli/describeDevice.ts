import { DeviceRecord } from '../domain/DeviceRecord';

/** `certfleet device ID`: a record as a person reads it in a terminal. */
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
