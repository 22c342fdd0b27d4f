import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { IngestIotHubEvents } from '../../../shared/app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { ManualClock } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import { deviceCreated, deviceDeleted, twinUpdated } from '../../../shared/local/iotHubMessages';
import { IssuedLeaf, TestPki, aPki } from '../../support/certificates';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';

/**
 * A PEM is never recorded unchecked: whatever the record's reported `$version`
 * says, every report the ledger may apply has its PEM parsed and its chain checked.
 */
const HUB = 'contoso-hub';
const THERMOSTAT = 'thermostat-0001';
const NOW = '2026-11-28T12:00:00.000Z';

const at = (iso: string) => ({ hub: HUB, deviceId: THERMOSTAT, at: iso });

let pki: TestPki;
let firstLife: IssuedLeaf;
/** Signed by a CA nobody trusts, for another device's name. */
let forged: IssuedLeaf;

beforeAll(async () => {
  pki = await aPki();
  firstLife = await pki.leaf(THERMOSTAT).validFrom('2026-11-01T00:00:00Z').issue();
  const rogue = await aPki();
  forged = await rogue.leaf('meter-0002').validFrom('2026-11-20T00:00:00Z').issue();
});

function aUseCase() {
  const ledger = new InMemoryLedger();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit: new InMemoryAuditTrail(),
    deadLetters,
    inspector: new X509CertificateInspector(pki.trustBundlePem),
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 4096,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
    },
  });
  return { ingest, ledger, deadLetters };
}

/** The first life: created, then its certificate reported at reported $version 5. */
const firstLifeEvents = (): RawIotHubMessage[] => [
  deviceCreated(at('2026-11-01T00:00:00.000Z')),
  twinUpdated(at('2026-11-01T01:00:00.000Z'), 5, {
    certificate: { ...firstLife.report(), pem: firstLife.leafPem, chain: [] },
  }),
];

/** The forged certificate, typed-in fields that look fine, at a version the old life passed. */
const forgedReport = (version: number, iso: string) =>
  twinUpdated(at(iso), version, {
    certificate: {
      validFrom: forged.validFrom,
      validUntil: forged.validUntil,
      subject: `CN=${THERMOSTAT}`,
      pem: forged.leafPem,
    },
  });

const codes = (ledger: InMemoryLedger) => ledger.get(THERMOSTAT)?.findings.map((f) => f.code);

describe('IngestIotHubEvents and the PEMs it parses', () => {
  it('parses the new life’s PEM when one batch holds the deletion, the re-creation and the report', async () => {
    const { ingest, ledger } = aUseCase();
    await ingest.apply(firstLifeEvents());

    await ingest.apply([
      deviceDeleted(at('2026-11-20T00:00:00.000Z')),
      deviceCreated(at('2026-11-20T00:05:00.000Z')),
      forgedReport(2, '2026-11-20T00:10:00.000Z'),
    ]);

    expect(ledger.get(THERMOSTAT)?.current).toMatchObject({
      source: 'pem',
      thumbprintSha256: forged.sha256,
      commonName: 'meter-0002',
    });
    expect(codes(ledger)).toEqual(
      expect.arrayContaining(['common-name-mismatch', 'chain-untrusted']),
    );
  });

  it('parses the PEM of a device created again whose deletion never arrived, in order', async () => {
    const { ingest, ledger } = aUseCase();
    await ingest.apply(firstLifeEvents());

    await ingest.apply([
      deviceCreated(at('2026-11-20T00:05:00.000Z')),
      forgedReport(3, '2026-11-20T00:10:00.000Z'),
    ]);

    expect(ledger.get(THERMOSTAT)?.current?.source).toBe('pem');
    expect(codes(ledger)).toEqual(
      expect.arrayContaining(['common-name-mismatch', 'chain-untrusted']),
    );
  });

  it('parses the PEM of a report that arrives after a later one of its life', async () => {
    const { ingest, ledger } = aUseCase();
    await ingest.apply(firstLifeEvents());

    await ingest.apply([forgedReport(4, '2026-11-01T00:30:00.000Z')]);

    const history = ledger.get(THERMOSTAT)?.history ?? [];
    expect(history.map((h) => [h.source, h.thumbprintSha256])).toEqual([
      ['pem', forged.sha256],
      ['pem', firstLife.sha256],
    ]);
  });

  it('dead-letters a new life’s report whose PEM does not parse, and records no certificate from its fields', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();
    await ingest.apply(firstLifeEvents());

    const summary = await ingest.apply([
      deviceDeleted(at('2026-11-20T00:00:00.000Z')),
      deviceCreated(at('2026-11-20T00:05:00.000Z')),
      twinUpdated(at('2026-11-20T00:10:00.000Z'), 2, {
        certificate: {
          validFrom: '2026-11-20T00:00:00Z',
          validUntil: '2026-12-20T00:00:00Z',
          pem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
        },
      }),
    ]);

    expect(summary.deadLettered).toBe(1);
    expect(deadLetters.all()[0]).toMatchObject({
      code: 'invalid-certificate-report',
      reason: expect.stringMatching(/^pem: /),
    });
    expect(ledger.get(THERMOSTAT)?.current).toBeUndefined();
    expect(codes(ledger)).toEqual(['invalid-certificate-report']);
  });
});
