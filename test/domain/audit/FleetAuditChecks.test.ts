import {
  AUDIT_CHECKS,
  DEFAULT_AUDIT_CHECK_SETTINGS,
  FleetAuditChecks,
  TrustedCa,
} from '../../../shared/domain/audit/FleetAuditChecks';
import { CertificateFacts } from '../../../shared/domain/Certificate';
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
