import { DAY_MS } from '../Clock';
import { DeviceRecord } from '../DeviceRecord';
import { deviceKeyString } from '../DeviceKey';
import { sameDistinguishedName } from '../Certificate';

/**
 * The fleet audit checks (docs/auditing.md): each looks at every active device's current
 * certificate (and the trust bundle's CAs) and lists what it finds, per device or per CA, like
 * AWS IoT Device Defender's audit findings. Pure: records in, findings out; the use case feeds
 * it the ledger a page at a time (FleetAudit, shared/app/audit/RunFleetAudit.ts).
 */
export const AUDIT_CHECKS = [
  /** The device's certificate expires within `expiringWithinDays`, or has expired. */
  'device-certificate-expiring',
  /** A trust-bundle CA expires before leaves it signed do (they stop verifying first). */
  'ca-certificate-expiring',
  /** One certificate (SHA-256 thumbprint) held by more than one device. */
  'certificate-shared',
  /** One public key in more than one device's certificate. */
  'public-key-shared',
  /** RSA under 2048 bits, a curve other than P-256/P-384/P-521 or Ed25519, SHA-1 or MD5. */
  'weak-key-or-signature',
  /** Valid for longer than the fleet's policy allows. */
  'validity-too-long',
  /** Issued by a CA configured as distrusted. */
  'distrusted-issuer',
  /** Renewed with the same key pair (the ledger's key-not-rotated finding). */
  'key-not-rotated',
] as const;

export type AuditCheck = (typeof AUDIT_CHECKS)[number];

export interface AuditCheckSettings {
  expiringWithinDays: number;
  /** Longest validity the fleet's policy allows, in days. */
  maxValidityDays: number;
  /** Issuer DNs no certificate should come from any more. */
  distrustedIssuers: readonly string[];
}

export const DEFAULT_AUDIT_CHECK_SETTINGS: AuditCheckSettings = {
  /** 30 days: Device Defender's default for its device-certificate-expiring check. */
  expiringWithinDays: 30,
  /** 398 days: the CA/Browser Forum's cap, a generous ceiling for operational certificates. */
  maxValidityDays: 398,
  distrustedIssuers: [],
};

export interface AuditFinding {
  check: AuditCheck;
  severity: 'warning' | 'critical';
  /** One sentence, certfleet's own. */
  summary: string;
  /** The devices (`hub/deviceId`) it is about; a CA finding names none. */
  devices: string[];
  /** The CA it is about (subject DN), for CA findings and distrusted issuers. */
  ca?: string;
  /** The thumbprint or public key shared, for the sharing checks. */
  shared?: string;
}

export interface TrustedCa {
  subject: string;
  validUntil: string;
}

const ACCEPTABLE_CURVES = ['P-256', 'P-384', 'P-521'];

/**
 * Runs the checks over records fed one at a time (`add`), then `findings()`. Memory grows with
 * the fleet only for the sharing checks (one entry per distinct thumbprint and public key).
 */
export class FleetAuditChecks {
  private readonly findingsSoFar: AuditFinding[] = [];
  private readonly byThumbprint = new Map<string, string[]>();
  private readonly byPublicKey = new Map<string, string[]>();
  /** Per issuer DN: the latest expiry of a leaf it signed. */
  private readonly latestLeafByIssuer = new Map<string, string>();
  private checkedDevices = 0;

  constructor(
    private readonly now: string,
    private readonly settings: AuditCheckSettings,
    private readonly cas: readonly TrustedCa[],
  ) {}

  get devicesChecked(): number {
    return this.checkedDevices;
  }

  add(record: DeviceRecord): void {
    const current = record.current;
    if (record.lifecycle !== 'active' || !current || record.renewal?.status === 'moved') return;
    this.checkedDevices += 1;
    const device = deviceKeyString(record);
    const found = (check: AuditCheck, severity: AuditFinding['severity'], summary: string) =>
      this.findingsSoFar.push({ check, severity, summary, devices: [device] });
    const at = Date.parse(this.now);
    const until = Date.parse(current.validUntil);

    if (until <= at)
      found('device-certificate-expiring', 'critical', `expired at ${current.validUntil}`);
    else if (until - at <= this.settings.expiringWithinDays * DAY_MS)
      found(
        'device-certificate-expiring',
        'warning',
        `expires at ${current.validUntil}, within ${this.settings.expiringWithinDays} days`,
      );

    for (const weakness of weaknessesOf(current))
      found('weak-key-or-signature', 'critical', weakness);

    const days = (until - Date.parse(current.validFrom)) / DAY_MS;
    if (days > this.settings.maxValidityDays)
      found(
        'validity-too-long',
        'warning',
        `valid for ${Math.round(days)} days, more than the policy's ${this.settings.maxValidityDays}`,
      );

    const issuer = current.issuer;
    if (issuer) {
      const distrusted = this.settings.distrustedIssuers.find((d) =>
        sameDistinguishedName(d, issuer),
      );
      if (distrusted !== undefined) {
        this.findingsSoFar.push({
          check: 'distrusted-issuer',
          severity: 'critical',
          summary: `issued by ${issuer}, which is configured as distrusted`,
          devices: [device],
          ca: issuer,
        });
      }
      const latest = this.latestLeafByIssuer.get(issuer);
      if (latest === undefined || current.validUntil > latest)
        this.latestLeafByIssuer.set(issuer, current.validUntil);
    }

    if (record.findings.some((f) => f.code === 'key-not-rotated'))
      found('key-not-rotated', 'warning', 'its last renewal kept the same key pair');

    if (current.thumbprintSha256) push(this.byThumbprint, current.thumbprintSha256, device);
    if (current.publicKeySha256) push(this.byPublicKey, current.publicKeySha256, device);
  }

  /** Every finding, device checks first in the order devices came, then the fleet-wide ones. */
  findings(): AuditFinding[] {
    const fleet: AuditFinding[] = [];
    for (const [thumbprint, devices] of this.byThumbprint) {
      if (devices.length > 1)
        fleet.push({
          check: 'certificate-shared',
          severity: 'critical',
          summary: `one certificate (SHA-256 ${thumbprint}) is held by ${devices.length} devices`,
          devices: [...devices].sort(),
          shared: thumbprint,
        });
    }
    for (const [key, devices] of this.byPublicKey) {
      const sameCertificate = fleet.some(
        (f) => f.check === 'certificate-shared' && f.devices.join() === [...devices].sort().join(),
      );
      if (devices.length > 1 && !sameCertificate)
        fleet.push({
          check: 'public-key-shared',
          severity: 'critical',
          summary: `one public key (SHA-256 ${key}) is in the certificates of ${devices.length} devices`,
          devices: [...devices].sort(),
          shared: key,
        });
    }
    const at = Date.parse(this.now);
    for (const ca of this.cas) {
      const latest = [...this.latestLeafByIssuer].find(([issuer]) =>
        sameDistinguishedName(issuer, ca.subject),
      )?.[1];
      const expired = Date.parse(ca.validUntil) <= at;
      if (expired || (latest !== undefined && latest > ca.validUntil)) {
        fleet.push({
          check: 'ca-certificate-expiring',
          severity:
            expired || Date.parse(ca.validUntil) - at <= 30 * DAY_MS ? 'critical' : 'warning',
          summary: expired
            ? `CA ${ca.subject} expired at ${ca.validUntil}`
            : `CA ${ca.subject} expires at ${ca.validUntil}, before leaves it signed (the latest until ${latest})`,
          devices: [],
          ca: ca.subject,
        });
      }
    }
    return [...this.findingsSoFar, ...fleet];
  }
}

function push(map: Map<string, string[]>, key: string, device: string): void {
  const list = map.get(key);
  if (list) list.push(device);
  else map.set(key, [device]);
}

/** What is weak about a certificate's key or signature, each as a sentence. */
export function weaknessesOf(c: {
  keyAlgorithm?: string;
  keySize?: number;
  signatureAlgorithm?: string;
}): string[] {
  const weak: string[] = [];
  const key = c.keyAlgorithm ?? '';
  if (key.startsWith('RSA') && c.keySize !== undefined && c.keySize < 2048)
    weak.push(`an RSA key of ${c.keySize} bits (under 2048)`);
  if (key.startsWith('ECDSA') && !ACCEPTABLE_CURVES.some((curve) => key.endsWith(curve)))
    weak.push(`a key on an unacceptable curve (${key})`);
  if (/SHA-?1\b|MD5/i.test(c.signatureAlgorithm ?? ''))
    weak.push(`signed with ${c.signatureAlgorithm}`);
  return weak;
}
