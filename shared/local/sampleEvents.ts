import { RawIotHubMessage } from '../adapters/eventhub/RawIotHubMessage';
import { DAY_MS, HOUR_MS } from '../domain/Clock';
import {
  Issuer,
  createIssuingCa,
  createRootCa,
  generateKeys,
  issueLeaf,
  privateKeyPem,
  thumbprint,
  toPem,
} from './LocalCa';
import {
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  twinReplaced,
  twinUpdated,
} from './iotHubMessages';

/**
 * A small, deterministic-in-shape event stream that shows what certfleet does with each kind of
 * input: first certificates, a renewal, redeliveries and stale versions, a device that follows
 * only Microsoft's minimum convention, findings, a leaked private key, a deletion and bad events.
 * Keys are generated fresh each run; dates are fixed.
 */
export const SAMPLE_HUB = 'contoso-hub';
export const SAMPLE_START = '2026-11-01T00:00:00.000Z';

export interface SampleStream {
  messages: RawIotHubMessage[];
  /** PEM of the sample root and issuing CA: the trust bundle to configure. */
  trustBundlePem: string;
}

const at = (offsetMs: number) => new Date(Date.parse(SAMPLE_START) + offsetMs).toISOString();

export async function sampleEventStream(): Promise<SampleStream> {
  const root = await createRootCa('certfleet sample root', {
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2036-01-01T00:00:00Z',
  });
  const issuing = await createIssuingCa(root, 'certfleet sample issuing CA', {
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2031-01-01T00:00:00Z',
  });
  const leaf = async (
    ca: Issuer,
    commonName: string,
    from: number,
    days: number,
    kind: 'P-384' | 'P-256' = 'P-384',
  ) => {
    const keys = await generateKeys(kind);
    const certificate = await issueLeaf(ca, {
      commonName,
      publicKey: keys.publicKey,
      notBefore: at(from),
      notAfter: at(from + days * DAY_MS),
    });
    return { keys, certificate };
  };
  const report = async (ca: Issuer, c: Awaited<ReturnType<typeof leaf>>) => ({
    validFrom: c.certificate.notBefore.toISOString(),
    validUntil: c.certificate.notAfter.toISOString(),
    thumbprint: await thumbprint(c.certificate, 'SHA-256'),
    serialNumber: c.certificate.serialNumber,
    pem: toPem(c.certificate, ca.certificate),
  });
  const o = (deviceId: string, offsetMs: number) => ({
    hub: SAMPLE_HUB,
    deviceId,
    at: at(offsetMs),
  });
  const messages: RawIotHubMessage[] = [];

  // thermostat-0001: created, connects, first certificate, renews by itself 24 days later.
  const t1 = await leaf(issuing, 'thermostat-0001', 0, 30);
  const t2 = await leaf(issuing, 'thermostat-0001', 24 * DAY_MS, 30);
  const firstReport = twinUpdated(o('thermostat-0001', HOUR_MS), 2, {
    certificate: await report(issuing, t1),
  });
  const renewal = twinUpdated(o('thermostat-0001', 24 * DAY_MS), 5, {
    certificate: await report(issuing, t2),
  });
  messages.push(
    deviceCreated(o('thermostat-0001', 0)),
    deviceConnected(o('thermostat-0001', 30_000), 1n),
    firstReport,
    renewal,
    renewal, // at-least-once delivery: the same event again
    firstReport, // and an older version, late
  );

  // meter-0002: reports only validFrom/validUntil, the minimum Microsoft asks for.
  messages.push(
    twinReplaced(o('meter-0002', 2 * HOUR_MS), 3, {
      firmware: '1.4.2',
      certificate: { validFrom: at(0), validUntil: at(7 * DAY_MS) },
    }),
  );

  // gateway-0003: a certificate issued to another name, with a validUntil that disagrees.
  const g = await leaf(issuing, 'gateway-9999', HOUR_MS, 90, 'P-256');
  messages.push(
    twinUpdated(o('gateway-0003', 3 * HOUR_MS), 2, {
      certificate: { ...(await report(issuing, g)), validUntil: at(365 * DAY_MS) },
    }),
  );

  // sensor-0004: reports its private key next to its certificate; it is never stored.
  const s = await leaf(issuing, 'sensor-0004', HOUR_MS, 30);
  messages.push(
    twinUpdated(o('sensor-0004', 4 * HOUR_MS), 2, {
      certificate: { ...(await report(issuing, s)), privateKey: await privateKeyPem(s.keys) },
    }),
  );

  // rogue-0005: a certificate from a CA outside the trust bundle.
  const rogueCa = await createRootCa('unknown root', {
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2030-01-01T00:00:00Z',
  });
  const r = await leaf(rogueCa, 'rogue-0005', HOUR_MS, 30);
  messages.push(
    twinUpdated(o('rogue-0005', 5 * HOUR_MS), 2, { certificate: await report(rogueCa, r) }),
  );

  // legacy-0006: retired and deleted.
  const l = await leaf(issuing, 'legacy-0006', 0, 30);
  messages.push(
    twinUpdated(o('legacy-0006', 6 * HOUR_MS), 2, { certificate: await report(issuing, l) }),
    deviceDeleted(o('legacy-0006', 2 * DAY_MS)),
  );

  // Bad input: garbage PEM, a body that is not JSON, an event that is not from IoT Hub.
  messages.push(
    twinUpdated(o('camera-0007', 7 * HOUR_MS), 2, {
      certificate: {
        validFrom: at(0),
        validUntil: at(30 * DAY_MS),
        pem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
      },
    }),
    { ...twinUpdated(o('camera-0008', 8 * HOUR_MS), 2, {}), body: '{"properties": {"reported": ' },
    { body: { hello: 'world' }, properties: { source: 'someone-else' }, systemProperties: {} },
  );

  return { messages, trustBundlePem: toPem(root.certificate, issuing.certificate) };
}
