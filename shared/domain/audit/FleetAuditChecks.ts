import { DAY_MS } from '../Clock';
import { DeviceRecord } from '../DeviceRecord';
import { deviceKeyString } from '../DeviceKey';
import { ChainCa, sameDistinguishedName, sameInstant } from '../Certificate';

/**
 * The fleet audit checks (docs/auditing.md): each looks at every active device's current
 * certificate (and the CAs of the trust bundle and of devices' chains) and lists what it finds,
 * per device or per CA, like AWS IoT Device Defender's audit findings. Pure: records in,
 * findings out; the use case feeds it the ledger a page at a time (FleetAudit,
 * shared/app/audit/RunFleetAudit.ts).
 */
export const AUDIT_CHECKS = [
  /** The device's certificate expires within `expiringWithinDays`, or has expired. */
  'device-certificate-expiring',
  /**
   * A CA (of the trust bundle, or sent in a device's chain) has expired, expires within
   * `expiringWithinDays`, or expires before leaves it signed or that carry it in their chain
   * (they stop verifying first).
   */
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
  /** The CA's SHA-256 thumbprint, for CA findings when it is known. */
  caThumbprintSha256?: string;
  /** Where a CA finding's CA was seen: in the trust bundle, in how many devices' chains. */
  caSeenIn?: { trustBundle: boolean; deviceChains: number };
  /** The thumbprint or public key shared, for the sharing checks. */
  shared?: string;
}

export interface TrustedCa {
  subject: string;
  validUntil: string;
  /** Upper-case hex; tells the same CA in a device's chain. Without it: same subject and expiry. */
  thumbprintSha256?: string;
}

/** A CA seen in devices' reported chains: its facts once, however many devices sent it. */
interface CaInChains {
  ca: ChainCa;
  devices: number;
  /** The latest expiry of a leaf whose chain carried it (the leaf stops verifying without it). */
  latestLeaf: string;
}

/** One CA as the check judges it: from the bundle, the chains, or both. */
interface SeenCa {
  subject: string;
  validUntil: string;
  thumbprintSha256?: string;
  trustBundle: boolean;
  deviceChains: number;
  latestLeafInChain?: string;
}

const ACCEPTABLE_CURVES = ['P-256', 'P-384', 'P-521'];

/**
 * Runs the checks over records fed one at a time (`add`), then `findings()`. Memory grows with
 * the fleet only for the sharing checks (one entry per distinct thumbprint and public key) and
 * the CAs of devices' chains (one entry per distinct CA, not per device).
 */
export class FleetAuditChecks {
  private readonly findingsSoFar: AuditFinding[] = [];
  private readonly byThumbprint = new Map<string, string[]>();
  private readonly byPublicKey = new Map<string, string[]>();
  /** Per issuer DN: the latest expiry of a leaf it signed. */
  private readonly latestLeafByIssuer = new Map<string, string>();
  /** Per SHA-256 thumbprint: the CAs devices sent in their chains. */
  private readonly casInChains = new Map<string, CaInChains>();
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
      if (latest === undefined || later(current.validUntil, latest))
        this.latestLeafByIssuer.set(issuer, current.validUntil);
    }

    this.addChainCas(current.chainCas ?? [], current.validUntil);

    if (record.findings.some((f) => f.code === 'key-not-rotated'))
      found('key-not-rotated', 'warning', 'its last renewal kept the same key pair');

    if (current.thumbprintSha256) push(this.byThumbprint, current.thumbprintSha256, device);
    if (current.publicKeySha256) push(this.byPublicKey, current.publicKeySha256, device);
  }

  /** Counts each CA of one device's chain once (a device may send a CA twice). */
  private addChainCas(cas: readonly ChainCa[], leafValidUntil: string): void {
    const counted = new Set<string>();
    for (const ca of cas) {
      const thumbprint = ca.thumbprintSha256;
      if (!thumbprint || counted.has(thumbprint) || Number.isNaN(Date.parse(ca.validUntil)))
        continue;
      counted.add(thumbprint);
      const seen = this.casInChains.get(thumbprint);
      if (!seen) {
        const { subject, issuer, validUntil } = ca;
        this.casInChains.set(thumbprint, {
          ca: { subject, issuer, validUntil, thumbprintSha256: thumbprint },
          devices: 1,
          latestLeaf: leafValidUntil,
        });
        continue;
      }
      seen.devices += 1;
      if (later(leafValidUntil, seen.latestLeaf)) seen.latestLeaf = leafValidUntil;
    }
  }

  /**
   * The trust bundle's CAs and those of devices' chains, each once: a chain CA is the bundle's
   * when their thumbprints agree (or, for a bundle CA given without one, its subject and expiry).
   * Bundle CAs first, in the bundle's order; then the others by subject and thumbprint.
   */
  private distinctCas(): SeenCa[] {
    const bundle: SeenCa[] = this.cas.map((ca) => ({
      subject: ca.subject,
      validUntil: ca.validUntil,
      ...(ca.thumbprintSha256 ? { thumbprintSha256: ca.thumbprintSha256 } : {}),
      trustBundle: true,
      deviceChains: 0,
    }));
    const chainsOnly: SeenCa[] = [];
    for (const [thumbprint, seen] of this.casInChains) {
      const inBundle = bundle.find((b) =>
        b.thumbprintSha256 !== undefined
          ? b.thumbprintSha256 === thumbprint
          : sameDistinguishedName(b.subject, seen.ca.subject) &&
            sameInstant(b.validUntil, seen.ca.validUntil),
      );
      if (inBundle) {
        inBundle.thumbprintSha256 ??= thumbprint;
        inBundle.deviceChains += seen.devices;
        if (
          inBundle.latestLeafInChain === undefined ||
          later(seen.latestLeaf, inBundle.latestLeafInChain)
        )
          inBundle.latestLeafInChain = seen.latestLeaf;
      } else
        chainsOnly.push({
          subject: seen.ca.subject,
          validUntil: seen.ca.validUntil,
          thumbprintSha256: thumbprint,
          trustBundle: false,
          deviceChains: seen.devices,
          latestLeafInChain: seen.latestLeaf,
        });
    }
    chainsOnly.sort(
      (a, b) =>
        compareText(a.subject, b.subject) || compareText(a.thumbprintSha256, b.thumbprintSha256),
    );
    return [...bundle, ...chainsOnly];
  }

  /** The latest expiry of a leaf the CA signed (issuer DN) or whose chain carried it. */
  private latestLeafOf(ca: SeenCa): string | undefined {
    let latest = ca.latestLeafInChain;
    for (const [issuer, validUntil] of this.latestLeafByIssuer)
      if (
        sameDistinguishedName(issuer, ca.subject) &&
        (latest === undefined || later(validUntil, latest))
      )
        latest = validUntil;
    return latest;
  }

  /** The CA check's finding for one CA, if it has one. */
  private caFinding(ca: SeenCa): AuditFinding | undefined {
    const at = Date.parse(this.now);
    const until = Date.parse(ca.validUntil);
    const window = this.settings.expiringWithinDays;
    const latest = this.latestLeafOf(ca);
    const expired = until <= at;
    const soon = !expired && until - at <= window * DAY_MS;
    const beforeLeaves = latest !== undefined && later(latest, ca.validUntil);
    if (!expired && !soon && !beforeLeaves) return undefined;
    const what = expired
      ? `expired at ${ca.validUntil}`
      : soon
        ? `expires at ${ca.validUntil}, within ${window} days`
        : `expires at ${ca.validUntil}`;
    const leaves =
      !expired && beforeLeaves
        ? `, before leaves it signed or that carry it in their chain (the latest until ${latest})`
        : '';
    return {
      check: 'ca-certificate-expiring',
      severity: expired || soon ? 'critical' : 'warning',
      summary: `CA ${ca.subject} ${what}${leaves}; seen in ${whereSeen(ca)}`,
      devices: [],
      ca: ca.subject,
      ...(ca.thumbprintSha256 ? { caThumbprintSha256: ca.thumbprintSha256 } : {}),
      caSeenIn: { trustBundle: ca.trustBundle, deviceChains: ca.deviceChains },
    };
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
    for (const ca of this.distinctCas()) {
      const finding = this.caFinding(ca);
      if (finding) fleet.push(finding);
    }
    return [...this.findingsSoFar, ...fleet];
  }
}

/** Whether one timestamp is after another, as instants: reported ones are written many ways. */
function later(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b);
}

function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function whereSeen(ca: SeenCa): string {
  const chains = `${ca.deviceChains} device${ca.deviceChains === 1 ? "'s chain" : "s' chains"}`;
  if (ca.trustBundle && ca.deviceChains > 0) return `the trust bundle and ${chains}`;
  return ca.trustBundle ? 'the trust bundle' : chains;
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
