import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { IngestIotHubEvents, IngestSettings } from '../../../shared/app/ingest/IngestIotHubEvents';
import { ManualClock } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import { toPem } from '../../../shared/local/LocalCa';
import { twinReplaced, twinUpdated } from '../../../shared/local/iotHubMessages';
import { IssuedLeaf, TestPki, aPki } from '../../support/certificates';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';

/**
 * The device contract's certificate report through the ingest use case, with real certificates:
 * `pem` the leaf alone, `chain` an array of PEM or base64 DER (DPS's issuedCertificateChain),
 * each string within IoT Hub's 4 KB limit of a twin string (docs/device-contract.md).
 */
const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';
const DEVICE = 'thermostat-0001';
const REPORTED_AT = '2026-11-01T01:00:00.000Z';
const TWIN_STRING_LIMIT = 4096;

let pki: TestPki;
let leaf: IssuedLeaf;

beforeAll(async () => {
  pki = await aPki();
  leaf = await pki.leaf(DEVICE).validFrom('2026-11-01T00:00:00Z').issue();
});

const base64Der = (certificate: { rawData: ArrayBuffer }) =>
  Buffer.from(certificate.rawData).toString('base64');

/** A use case whose trust bundle holds the root only: the issuing CA must come from the device. */
function aUseCase(settings: Partial<IngestSettings> = {}) {
  const ledger = new InMemoryLedger();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit: new InMemoryAuditTrail(),
    deadLetters,
    inspector: new X509CertificateInspector(toPem(pki.root.certificate)),
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: TWIN_STRING_LIMIT,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
      ...settings,
    },
  });
  return { ingest, ledger, deadLetters };
}

const report = (certificate: Record<string, unknown>, version = 2) =>
  twinUpdated({ hub: HUB, deviceId: DEVICE, at: REPORTED_AT }, version, { certificate });

describe('certificate reports with the chain apart from the leaf', () => {
  it('trusts a leaf reported with the chain DPS issued, as base64 DER, leaf first', async () => {
    const { ingest, ledger } = aUseCase();

    await ingest.apply([
      report({
        validFrom: leaf.validFrom,
        validUntil: leaf.validUntil,
        pem: leaf.leafPem,
        chain: [base64Der(leaf.certificate), base64Der(pki.issuing.certificate)],
      }),
    ]);

    const record = ledger.get(DEVICE);
    expect(record?.current).toMatchObject({
      source: 'pem',
      thumbprintSha256: leaf.sha256,
      chainLength: 1,
    });
    expect(record?.findings).toEqual([]);
    expect(JSON.stringify(record)).not.toContain(base64Der(pki.issuing.certificate).slice(0, 40));
  });

  it('flags a leaf whose issuing CA the device left out of its chain', async () => {
    const { ingest, ledger } = aUseCase();

    await ingest.apply([
      report({ validFrom: leaf.validFrom, validUntil: leaf.validUntil, pem: leaf.leafPem }),
    ]);

    expect(ledger.get(DEVICE)?.findings.map((f) => f.code)).toEqual(['chain-untrusted']);
  });

  it('still reads an older device’s pem of leaf and chain while it fits the limit', async () => {
    const { ingest, ledger } = aUseCase();

    await ingest.apply([report(leaf.report())]);

    expect(Buffer.byteLength(leaf.pem)).toBeLessThan(TWIN_STRING_LIMIT);
    expect(ledger.get(DEVICE)?.current).toMatchObject({ source: 'pem', chainLength: 1 });
    expect(ledger.get(DEVICE)?.findings).toEqual([]);
  });

  it('dead-letters a report whose chain string is over the limit, naming the entry', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();
    const tooLong = `${toPem(pki.issuing.certificate)}\n${' '.repeat(TWIN_STRING_LIMIT)}`;

    const summary = await ingest.apply([
      report({
        validFrom: leaf.validFrom,
        validUntil: leaf.validUntil,
        pem: leaf.leafPem,
        chain: [tooLong],
      }),
    ]);

    expect(summary.deadLettered).toBe(1);
    expect(deadLetters.all()[0]).toMatchObject({
      code: 'invalid-certificate-report',
      reason: `chain[0] is larger than ${TWIN_STRING_LIMIT} bytes`,
    });
    expect(ledger.get(DEVICE)?.current).toBeUndefined();
  });

  it('dead-letters a report whose chain holds something that is not a certificate', async () => {
    const { ingest, deadLetters } = aUseCase();

    await ingest.apply([
      report({
        validFrom: leaf.validFrom,
        validUntil: leaf.validUntil,
        pem: leaf.leafPem,
        chain: ['bm90IGEgY2VydGlmaWNhdGU='],
      }),
    ]);

    expect(deadLetters.all()[0]?.reason).toMatch(/^pem: chain\[0\] is not a certificate/);
  });
});

describe('the common name against the registration id', () => {
  it('compares the CN with the registration id a device reports when DPS gave it another device id', async () => {
    const { ingest, ledger } = aUseCase();
    const enrolled = await pki.leaf('line7-sensor-2').issue();

    await ingest.apply([
      report({
        validFrom: enrolled.validFrom,
        validUntil: enrolled.validUntil,
        registrationId: 'line7-sensor-2',
        pem: enrolled.leafPem,
        chain: [base64Der(pki.issuing.certificate)],
      }),
    ]);

    expect(ledger.get(DEVICE)?.findings).toEqual([]);
  });

  it('gives a mismatch the severity set for it', async () => {
    const { ingest, ledger } = aUseCase({ commonNameMismatchSeverity: 'warning' });
    const another = await pki.leaf('thermostat-0002').issue();

    await ingest.apply([
      report({
        validFrom: another.validFrom,
        validUntil: another.validUntil,
        pem: another.leafPem,
        chain: [base64Der(pki.issuing.certificate)],
      }),
    ]);

    expect(ledger.get(DEVICE)?.findings).toEqual([
      expect.objectContaining({ code: 'common-name-mismatch', severity: 'warning' }),
    ]);
  });
});

describe('a whole twin that still holds a pem the device stopped sending', () => {
  it('records the certificate that expires first and raises a finding, instead of trusting the pem', async () => {
    const { ingest, ledger } = aUseCase();
    // The device reported its renewal as dates alone: IoT Hub merged the patch and kept the
    // old pem and chain, and a reconcile reads the whole twin.
    const renewed = {
      validFrom: '2026-11-25T00:00:00.000Z',
      validUntil: '2026-12-25T00:00:00.000Z',
    };

    await ingest.apply([
      twinReplaced({ hub: HUB, deviceId: DEVICE, at: '2026-11-25T01:00:00.000Z' }, 3, {
        certificate: {
          ...renewed,
          pem: leaf.leafPem,
          chain: [base64Der(pki.issuing.certificate)],
        },
      }),
    ]);

    const record = ledger.get(DEVICE);
    expect(record?.current).toMatchObject({ source: 'pem', validUntil: leaf.validUntil });
    expect(record?.findings.map((f) => f.code)).toEqual(['pem-disagrees-with-dates']);
  });
});
