import {
  AUDIT_CHECKS,
  DEFAULT_AUDIT_CHECK_SETTINGS,
  FleetAuditChecks,
  TrustedCa,
} from '../../../shared/domain/audit/FleetAuditChecks';
import { CertificateFacts, ChainCa } from '../../../shared/domain/Certificate';
import { DeviceRecord, newDeviceRecord } from '../../../shared/domain/DeviceRecord';
import { finding } from '../../../shared/domain/Finding';

const NOW = '2026-11-10T00:00:00.000Z';
const ISSUER = 'CN=Contoso Issuing CA, O=Contoso';
const CAS: TrustedCa[] = [
  { subject: ISSUER, validUntil: '2031-01-01T00:00:00.000Z' },
  { subject: 'CN=Contoso Root, O=Contoso', validUntil: '2036-01-01T00:00:00.000Z' },
];

let serial = 0;
/** A healthy device: a P-384 certificate from the issuing CA, valid a year from 1 October. */
function aDevice(deviceId: string, facts: Partial<CertificateFacts> = {}): DeviceRecord {
  serial += 1;
  const hex = (prefix: string) => `${prefix}${String(serial).padStart(8, '0')}`.padEnd(64, '0');
  return {
    ...newDeviceRecord('contoso-hub', deviceId, '2026-10-01T00:00:00.000Z'),
    current: {
      source: 'pem',
      validFrom: '2026-10-01T00:00:00.000Z',
      validUntil: '2027-10-01T00:00:00.000Z',
      issuer: ISSUER,
      keyAlgorithm: 'ECDSA P-384',
      keySize: 384,
      signatureAlgorithm: 'ECDSA with SHA-384',
      thumbprintSha256: hex('A'),
      publicKeySha256: hex('B'),
      firstSeenAt: '2026-10-01T00:00:00.000Z',
      reportedVersion: 2,
      ...facts,
    },
  };
}

function run(records: DeviceRecord[], cas: TrustedCa[] = CAS, distrusted: string[] = []) {
  const checks = new FleetAuditChecks(
    NOW,
    { ...DEFAULT_AUDIT_CHECK_SETTINGS, distrustedIssuers: distrusted },
    cas,
  );
  for (const r of records) checks.add(r);
  return checks
    .findings()
    .map((f) => `${f.check} ${f.severity} ${f.devices.join(',') || f.ca}`)
    .sort();
}

/** The CA findings of a run, whole. */
function caFindings(records: DeviceRecord[], cas: TrustedCa[] = CAS) {
  const checks = new FleetAuditChecks(NOW, DEFAULT_AUDIT_CHECK_SETTINGS, cas);
  for (const r of records) checks.add(r);
  return checks.findings().filter((f) => f.check === 'ca-certificate-expiring');
}

describe('the fleet audit checks', () => {
  it('find nothing in a clean fleet', () => {
    const fleet = Array.from({ length: 50 }, (_, i) => aDevice(`meter-${i}`));

    expect(run(fleet)).toEqual([]);
  });

  it('find each problem in a fleet built to contain it, and only there', () => {
    const shared = aDevice('shared-1');
    const rekeyed = aDevice('same-key-1');
    const notRotated = aDevice('not-rotated');
    notRotated.findings = [finding('key-not-rotated', 'the CSR reused the key pair', NOW, 3)];
    const fleet = [
      aDevice('healthy'),
      aDevice('expiring', { validUntil: '2026-11-25T00:00:00.000Z' }),
      aDevice('expired', { validUntil: '2026-11-01T00:00:00.000Z' }),
      shared,
      { ...aDevice('shared-2'), current: { ...shared.current! } },
      rekeyed,
      aDevice('same-key-2', { publicKeySha256: rekeyed.current!.publicKeySha256! }),
      aDevice('rsa-1024', { keyAlgorithm: 'RSA 1024', keySize: 1024 }),
      aDevice('p-192', { keyAlgorithm: 'ECDSA P-192' }),
      aDevice('sha-1', { signatureAlgorithm: 'RSASSA-PKCS1-v1_5 with SHA-1' }),
      aDevice('five-years', { validUntil: '2031-10-01T00:00:00.000Z' }),
      aDevice('old-ca', { issuer: 'CN=Fabrikam Legacy CA' }),
      notRotated,
      {
        ...aDevice('deleted', { keyAlgorithm: 'RSA 512', keySize: 512 }),
        lifecycle: 'deleted' as const,
      },
    ];
    // The issuing CA expires on 1 March 2027, before the leaves it signed (October 2027).
    const cas = [{ ...CAS[0]!, validUntil: '2027-03-01T00:00:00.000Z' }, CAS[1]!];

    expect(run(fleet, cas, ['CN=Fabrikam Legacy CA'])).toEqual(
      [
        `ca-certificate-expiring warning ${ISSUER}`,
        'certificate-shared critical contoso-hub/shared-1,contoso-hub/shared-2',
        'device-certificate-expiring critical contoso-hub/expired',
        'device-certificate-expiring warning contoso-hub/expiring',
        'distrusted-issuer critical contoso-hub/old-ca',
        'key-not-rotated warning contoso-hub/not-rotated',
        'public-key-shared critical contoso-hub/same-key-1,contoso-hub/same-key-2',
        'validity-too-long warning contoso-hub/five-years',
        'weak-key-or-signature critical contoso-hub/p-192',
        'weak-key-or-signature critical contoso-hub/rsa-1024',
        'weak-key-or-signature critical contoso-hub/sha-1',
      ].sort(),
    );
    // Every check found something here.
    const found = new Set(run(fleet, cas, ['CN=Fabrikam Legacy CA']).map((f) => f.split(' ')[0]));
    expect([...found].sort()).toEqual([...AUDIT_CHECKS].sort());
  });

  it('names an expired CA as critical even when no device uses it any more', () => {
    expect(
      run(
        [aDevice('healthy')],
        [{ subject: 'CN=Old Root', validUntil: '2026-01-01T00:00:00.000Z' }],
      ),
    ).toEqual(['ca-certificate-expiring critical CN=Old Root']);
  });
});

describe('the CA-expiry check over the CAs devices send in their chains', () => {
  const ROOT = 'CN=Contoso Root, O=Contoso';
  /** A partner issuing CA the trust bundle does not hold, sent by devices in their chains. */
  const PARTNER: ChainCa = {
    subject: 'CN=Fabrikam Issuing CA, O=Fabrikam',
    issuer: 'CN=Fabrikam Root, O=Fabrikam',
    validUntil: '2027-03-01T00:00:00.000Z',
    thumbprintSha256: 'F1'.repeat(32),
  };
  const PARTNER_ROOT: ChainCa = {
    subject: 'CN=Fabrikam Root, O=Fabrikam',
    issuer: 'CN=Fabrikam Root, O=Fabrikam',
    validUntil: '2040-01-01T00:00:00.000Z',
    thumbprintSha256: 'F2'.repeat(32),
  };
  /** The bundle's issuing CA as devices send it. */
  const CONTOSO_ISSUING: ChainCa = {
    subject: ISSUER,
    issuer: ROOT,
    validUntil: CAS[0]!.validUntil,
    thumbprintSha256: 'C1'.repeat(32),
  };
  const partnerDevice = (deviceId: string, chainCas: ChainCa[] = [PARTNER, PARTNER_ROOT]) =>
    aDevice(deviceId, { issuer: PARTNER.subject, chainCas });

  it('finds an issuing CA seen only in devices’ chains that expires before the leaves it signed', () => {
    // The partner CA ends on 1 March 2027; the leaves it signed run to October 2027.
    const fleet = [partnerDevice('partner-1'), partnerDevice('partner-2'), aDevice('contoso-1')];

    expect(caFindings(fleet)).toEqual([
      {
        check: 'ca-certificate-expiring',
        severity: 'warning',
        summary:
          `CA ${PARTNER.subject} expires at ${PARTNER.validUntil}, before leaves it signed or ` +
          "that carry it in their chain (the latest until 2027-10-01T00:00:00.000Z); seen in 2 devices' chains",
        devices: [],
        ca: PARTNER.subject,
        caThumbprintSha256: PARTNER.thumbprintSha256,
        caSeenIn: { trustBundle: false, deviceChains: 2 },
      },
    ]);
  });

  it('makes a chain CA that expires within the expiring window, or has expired, critical', () => {
    const soon = { ...PARTNER, validUntil: '2026-11-20T00:00:00.000Z' };
    const gone = { ...PARTNER_ROOT, validUntil: '2026-11-01T00:00:00.000Z' };

    const found = caFindings([partnerDevice('partner-1', [soon, gone])]);

    expect(found.map((f) => [f.ca, f.severity])).toEqual([
      [PARTNER.subject, 'critical'],
      [PARTNER_ROOT.subject, 'critical'],
    ]);
    expect(found[0]?.summary).toContain('within 30 days');
    expect(found[1]?.summary).toContain(`expired at ${gone.validUntil}`);
  });

  it('finds a root seen only in chains that ends before the leaves whose chain carries it', () => {
    // The root signed no leaf itself (the issuing CA did), but the leaves stop verifying with it.
    const root = { ...PARTNER_ROOT, validUntil: '2027-06-01T00:00:00.000Z' };
    const partner = { ...PARTNER, validUntil: '2030-01-01T00:00:00.000Z' };

    const found = caFindings([partnerDevice('partner-1', [partner, root])]);

    expect(found.map((f) => [f.ca, f.severity, f.caSeenIn])).toEqual([
      [root.subject, 'warning', { trustBundle: false, deviceChains: 1 }],
    ]);
  });

  it('counts a CA in both the trust bundle and devices’ chains as one CA, seen in both', () => {
    const bundle: TrustedCa[] = [
      { ...CAS[0]!, validUntil: '2027-03-01T00:00:00.000Z', thumbprintSha256: 'C1'.repeat(32) },
      CAS[1]!,
    ];
    const sent = { ...CONTOSO_ISSUING, validUntil: '2027-03-01T00:00:00.000Z' };
    const fleet = [
      aDevice('contoso-1', { chainCas: [sent] }),
      aDevice('contoso-2', { chainCas: [sent, sent] }),
      aDevice('contoso-3'),
    ];

    const found = caFindings(fleet, bundle);

    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      ca: ISSUER,
      severity: 'warning',
      caThumbprintSha256: sent.thumbprintSha256,
      caSeenIn: { trustBundle: true, deviceChains: 2 },
    });
    expect(found[0]?.summary).toMatch(/; seen in the trust bundle and 2 devices' chains$/);
  });

  it('tells a bundle CA given without a thumbprint by its subject and expiry', () => {
    const bundle: TrustedCa[] = [{ subject: ISSUER, validUntil: '2026-11-01T00:00:00Z' }];
    const sent = {
      ...CONTOSO_ISSUING,
      subject: 'O=Contoso,CN=Contoso Issuing CA',
      validUntil: '2026-11-01T00:00:00.000Z',
    };
    const renewed = {
      ...sent,
      validUntil: '2026-12-01T00:00:00.000Z',
      thumbprintSha256: 'C3'.repeat(32),
    };

    const found = caFindings([aDevice('contoso-1', { chainCas: [sent, renewed] })], bundle);

    // The copy it sends is the bundle's CA (its DN written another way); its renewal is another.
    expect(found.map((f) => [f.ca, f.caThumbprintSha256, f.caSeenIn])).toEqual([
      [ISSUER, sent.thumbprintSha256, { trustBundle: true, deviceChains: 1 }],
      [sent.subject, renewed.thumbprintSha256, { trustBundle: false, deviceChains: 1 }],
    ]);
  });

  it('finds nothing in a clean fleet that sends its chain', () => {
    const fleet = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? aDevice(`meter-${i}`, { chainCas: [CONTOSO_ISSUING] })
        : partnerDevice(`partner-${i}`, [
            { ...PARTNER, validUntil: '2030-01-01T00:00:00.000Z' },
            PARTNER_ROOT,
          ]),
    );

    expect(run(fleet)).toEqual([]);
  });

  it('judges a record kept before chain CAs were read by its issuer alone, beside records that carry them', () => {
    // An old record names the partner CA as issuer but has no chainCas; its leaf runs longest.
    const old = aDevice('partner-old', {
      issuer: PARTNER.subject,
      validUntil: '2027-11-01T00:00:00.000Z',
    });
    expect(old.current).not.toHaveProperty('chainCas');

    const found = caFindings([old, partnerDevice('partner-new')]);

    expect(found.map((f) => [f.ca, f.caSeenIn])).toEqual([
      [PARTNER.subject, { trustBundle: false, deviceChains: 1 }],
    ]);
    expect(found[0]?.summary).toContain('the latest until 2027-11-01T00:00:00.000Z');
  });

  it('keeps one entry per distinct CA however many devices send it', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => partnerDevice(`partner-${i}`));

    const found = caFindings(fleet);

    expect(found.map((f) => [f.ca, f.caSeenIn?.deviceChains])).toEqual([[PARTNER.subject, 1000]]);
  });
});
