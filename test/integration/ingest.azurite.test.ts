import { ReceiptedLedger } from '../../shared/app/ReceiptedLedger';
import { generateKeyPairSync } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { handleIotHubEvents } from '../../functions/iotHubEvents';
import { triggerBatchFromMessages } from '../../shared/adapters/eventhub/triggerBatch';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { IngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { DAY_MS, HOUR_MS } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { privateKeyPem } from '../../shared/local/LocalCa';
import {
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  twinReplaced,
  twinUpdated,
} from '../../shared/local/iotHubMessages';
import { Services, useServices } from '../../shared/services';
import { IssuedLeaf, TestPki, aPki } from '../support/certificates';
import { everythingStoredUnder } from '../support/rawStorage';
import { azuriteServices } from '../support/testStorage';

const HUB = 'contoso-hub';
const START = '2026-11-01T00:00:00.000Z';
const NOW = '2026-11-27T12:00:00.000Z';
const at = (offsetMs: number) => new Date(Date.parse(START) + offsetMs).toISOString();
const from = (deviceId: string, offsetMs: number) => ({ hub: HUB, deviceId, at: at(offsetMs) });

let pki: TestPki;

beforeAll(async () => {
  pki = await aPki();
});

afterEach(() => useServices(undefined));

/** Real services on Azurite under a prefix of this test's own, used by the trigger's handler. */
function servicesForThisTest(): { services: Services; prefix: string } {
  const { services, env } = azuriteServices({
    now: NOW,
    env: { CERTFLEET_TRUST_BUNDLE: pki.trustBundlePem },
  });
  useServices(services);
  return { services, prefix: env.CERTFLEET_STORAGE_PREFIX as string };
}

/** Hands a batch to the Event Hubs trigger's handler the way the Functions host does. */
async function deliver(messages: RawIotHubMessage[]): Promise<IngestSummary> {
  const { bodies, metadata } = triggerBatchFromMessages(messages);
  const context = new InvocationContext({
    functionName: 'iotHubEvents',
    invocationId: 'integration-test',
    triggerMetadata: metadata,
    logHandler: () => undefined,
  });
  return handleIotHubEvents(bodies, context);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function auditOf(services: Services, dates: string[]): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const date of dates) entries.push(...(await collect(services.audit.readDate(date))));
  return entries;
}

function byDevice(records: DeviceRecord[]): Record<string, DeviceRecord> {
  return Object.fromEntries(records.map((r) => [r.deviceId, r]));
}

describe('ingesting routed IoT Hub events through the trigger, on Azurite', () => {
  it('turns a realistic stream into ledger records, verified audit chains and dead letters', async () => {
    const { services } = servicesForThisTest();
    const first = await pki.leaf('thermostat-0001').validFrom(at(0)).forDays(30).issue();
    const renewed = await pki
      .leaf('thermostat-0001')
      .validFrom(at(24 * DAY_MS))
      .issue();
    const legacy = await pki.leaf('legacy-0006').validFrom(at(0)).forDays(30).issue();
    const firstReport = twinUpdated(from('thermostat-0001', HOUR_MS), 2, {
      certificate: first.report({ thumbprint: first.sha256 }),
    });
    const renewal = twinUpdated(from('thermostat-0001', 24 * DAY_MS), 5, {
      certificate: renewed.report({
        thumbprint: renewed.sha256,
        serialNumber: renewed.serialNumber,
      }),
    });
    const firstDay: RawIotHubMessage[] = [
      deviceCreated(from('thermostat-0001', 0)),
      deviceConnected(from('thermostat-0001', 30_000), 1n),
      firstReport,
      // meter-0002 reports only validFrom/validUntil, the minimum Microsoft asks for.
      twinReplaced(from('meter-0002', 2 * HOUR_MS), 3, {
        firmware: '1.4.2',
        certificate: { validFrom: at(0), validUntil: at(7 * DAY_MS) },
      }),
      twinUpdated(from('legacy-0006', 6 * HOUR_MS), 2, { certificate: legacy.report() }),
      twinUpdated(from('camera-0007', 7 * HOUR_MS), 2, {
        certificate: {
          validFrom: at(0),
          validUntil: at(30 * DAY_MS),
          pem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
        },
      }),
      { ...twinUpdated(from('camera-0008', 8 * HOUR_MS), 2, {}), body: '{"properties": {"re' },
      { body: { hello: 'world' }, properties: { source: 'someone-else' }, systemProperties: {} },
    ];
    const later: RawIotHubMessage[] = [
      deviceDeleted(from('legacy-0006', 2 * DAY_MS)),
      renewal,
      renewal, // at-least-once delivery
      firstReport, // an older version, late
    ];

    const summaries = [await deliver(firstDay), await deliver(later)];

    // Besides the certificate records (3, then 2), alert transitions: on 27 November these
    // certificates are expiring, expired or silent, and later events resolve some of them.
    expect(summaries).toEqual([
      expect.objectContaining({ messages: 8, deadLettered: 3, auditWritten: 9 }),
      expect.objectContaining({ messages: 4, applied: 2, duplicate: 1, stale: 1, auditWritten: 7 }),
    ]);

    const records = byDevice(await collect(services.ledger.list({ hub: HUB })));
    expect(Object.keys(records).sort()).toEqual([
      'camera-0007',
      'legacy-0006',
      'meter-0002',
      'thermostat-0001',
    ]);
    expect(records['thermostat-0001']).toMatchObject({
      lifecycle: 'active',
      createdAt: at(0),
      reportedVersion: 5,
      connection: { state: 'connected' },
      current: {
        source: 'pem',
        thumbprintSha256: renewed.sha256,
        serialNumber: renewed.serialNumber,
        validUntil: renewed.validUntil,
        chainLength: 1,
      },
      previous: { thumbprintSha256: first.sha256 },
      // 85% of the renewed certificate's 30 days.
      renewalDueAt: '2026-12-20T12:00:00.000Z',
      findings: [],
    });
    // Its audit entries are in the trail: a receipt under the tag of the write that stored them
    // says so, and a read leaves them out (no second write cleared them).
    const stored = records['thermostat-0001'];
    expect(stored?.pendingAudit.length).toBeGreaterThan(0);
    expect(await (services.ledger as ReceiptedLedger).receipts.has(stored?.auditTag ?? '')).toBe(
      true,
    );
    expect(
      (await services.ledger.read({ hub: HUB, deviceId: 'thermostat-0001' }))?.value.pendingAudit,
    ).toEqual([]);
    expect(records['meter-0002']).toMatchObject({
      reportedVersion: 3,
      current: { source: 'reported', validFrom: at(0), validUntil: at(7 * DAY_MS) },
      renewalDueAt: '2026-11-06T22:48:00.000Z',
      findings: [],
    });
    expect(records['legacy-0006']).toMatchObject({
      lifecycle: 'deleted',
      deletedAt: at(2 * DAY_MS),
    });
    expect(records['legacy-0006']?.renewalDueAt).toBeUndefined();
    expect(records['camera-0007']?.findings.map((f) => f.code)).toEqual([
      'invalid-certificate-report',
    ]);
    expect(records['camera-0007']?.current).toBeUndefined();
    expect(
      (await collect(services.ledger.actionsDueBefore('2027-01-01T00:00:00.000Z')))
        .map((d) => d.deviceId)
        .sort(),
    ).toEqual(['meter-0002', 'thermostat-0001']);

    const auditDates = ['2026-11-01', '2026-11-03', '2026-11-25'];
    const audit = await auditOf(services, auditDates);
    expect(audit.map((e) => `${e.occurredAt.slice(0, 10)} ${e.type} ${e.deviceId}`).sort()).toEqual(
      [
        '2026-11-01 certificate.first-seen legacy-0006',
        '2026-11-01 certificate.first-seen meter-0002',
        '2026-11-01 certificate.first-seen thermostat-0001',
        '2026-11-03 device.deleted legacy-0006',
        '2026-11-25 certificate.renewed thermostat-0001',
      ],
    );
    const renewedEntry = audit.find((e) => e.type === 'certificate.renewed');
    expect(renewedEntry?.old?.thumbprintSha256).toBe(first.sha256);
    expect(renewedEntry?.new?.thumbprintSha256).toBe(renewed.sha256);
    for (const date of auditDates) {
      const verification = await services.audit.verifyDate(date);
      expect(verification.blobs.length).toBeGreaterThan(0);
      for (const blob of verification.blobs) expect(blob.result).toMatchObject({ ok: true });
    }

    const letters = await collect(services.deadLetters.list());
    expect(letters.map((l) => `${l.code} ${l.deviceId ?? '-'}`).sort()).toEqual([
      'body-not-json camera-0008',
      'invalid-certificate-report camera-0007',
      'unknown-source -',
    ]);
    expect(letters.every((l) => l.receivedAt === NOW)).toBe(true);

    // The Functions host redelivers both batches: nothing changes, nothing is added.
    const again = [await deliver(firstDay), await deliver(later)];
    expect(again.map((s) => [s.applied, s.auditWritten])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(byDevice(await collect(services.ledger.list()))).toEqual(records);
    expect(await auditOf(services, auditDates)).toHaveLength(audit.length);
    expect(await collect(services.deadLetters.list())).toHaveLength(3);
  });

  it('stores no private key anywhere, and records that the devices leaked theirs', async () => {
    const { services, prefix } = servicesForThisTest();
    const leaf = (name: string): Promise<IssuedLeaf> =>
      pki.leaf(name).validFrom(at(0)).forDays(30).issue();
    const [a, b, c, d, f] = await Promise.all(
      ['sensor-a', 'sensor-b', 'sensor-c', 'sensor-d', 'sensor-f'].map(leaf),
    );
    if (!a || !b || !c || !d || !f) throw new Error('certificates were not issued');
    const pkcs8 = await privateKeyPem(a.keys);
    const ecKey = generateKeyPairSync('ec', {
      namedCurve: 'P-384',
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const rawDer = pemBody(await privateKeyPem(c.keys));
    const keyNextToCertificate = await privateKeyPem(d.keys);
    const garbageKey = await privateKeyPem(f.keys);
    const binaryKey = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const propertyKey = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const keys = [pkcs8, ecKey, rawDer, keyNextToCertificate, garbageKey, binaryKey, propertyKey];

    const summary = await deliver([
      // PKCS#8 in a diagnostics dump, next to a good certificate report.
      twinUpdated(from('sensor-a', HOUR_MS), 2, {
        certificate: a.report(),
        diagnostics: { note: 'crash dump', dump: pkcs8 },
      }),
      // A SEC1 "EC PRIVATE KEY" block in a field of the certificate object.
      twinUpdated(from('sensor-b', HOUR_MS), 2, { certificate: b.report({ keyBackup: ecKey }) }),
      // A privateKey property holding bare base64 DER, no PEM armour to find.
      twinUpdated(from('sensor-c', HOUR_MS), 2, { certificate: c.report({ privateKey: rawDer }) }),
      // The key inside the pem field, between the leaf and its issuing CA.
      twinUpdated(from('sensor-d', HOUR_MS), 2, {
        certificate: d.report({
          pem: `${d.leafPem}\n${keyNextToCertificate}\n${pki.issuing.certificate.toString('pem')}`,
        }),
      }),
      // A rejected report (garbage PEM) that also carries a key: dead-lettered, redacted.
      twinUpdated(from('sensor-f', HOUR_MS), 2, {
        certificate: {
          validFrom: at(0),
          validUntil: at(30 * DAY_MS),
          pem: '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----',
          privateKey: garbageKey,
        },
      }),
      // A body that is not JSON (cut off mid-way) with a key in it.
      {
        ...twinUpdated(from('sensor-g', HOUR_MS), 2, {}),
        body: `{"properties":{"reported":{"certificate":{"privateKey":${JSON.stringify(garbageKey)},"pem":"`,
      },
      // Binary garbage (not UTF-8) carrying a key.
      {
        ...twinUpdated(from('sensor-h', HOUR_MS), 2, {}),
        body: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x81]), Buffer.from(binaryKey)]),
      },
      // Not an IoT Hub event at all, with a key in its application properties.
      {
        body: 'hello',
        properties: { source: 'someone-else', privateKey: propertyKey },
        systemProperties: {},
      },
    ]);

    // sensor-g and sensor-h's messages are dead-lettered, yet they name their device: its key
    // leaked all the same (two more events applied: the leaks).
    expect(summary).toMatchObject({ messages: 8, applied: 6, deadLettered: 4 });
    const records = byDevice(await collect(services.ledger.list()));
    for (const deviceId of ['sensor-a', 'sensor-b', 'sensor-c', 'sensor-d', 'sensor-f']) {
      expect(records[deviceId]?.findings.map((f) => f.code)).toContain('private-key-reported');
    }
    for (const deviceId of ['sensor-g', 'sensor-h']) {
      expect(records[deviceId]?.findings.map((f) => f.code)).toContain('private-key-reported');
    }
    expect(records['sensor-d']?.current?.thumbprintSha256).toBe(d.sha256);
    const audit = await auditOf(services, ['2026-11-01']);
    expect(audit.filter((e) => e.type === 'device.private-key-reported')).toHaveLength(7);
    expect(await collect(services.deadLetters.list())).toHaveLength(4);

    const stored = await everythingStoredUnder(prefix);
    const places = new Set(
      stored.map((s) =>
        s.where.replace(/^(table \S+) .*$/, '$1').replace(/^(blob [^/]+)\/.*$/, '$1'),
      ),
    );
    expect([...places].sort()).toEqual([
      `blob ${prefix}-audit`,
      `blob ${prefix}-deadletters`,
      `table ${prefix}alerts`,
      `table ${prefix}ledger`,
      `table ${prefix}state`,
    ]);
    const everything = stored.map((s) => s.text).join('\n');
    // Redaction leaves its mark where a key was, so the test sees what it is checking.
    expect(everything).toContain('[REDACTED PRIVATE KEY]');
    const decoded = decodeBase64Runs(everything);
    for (const text of [everything, decoded]) {
      expect(text).not.toMatch(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/);
      expect(text).not.toMatch(/PRIVATE KEY-----/);
    }
    const searchable = stored.map((s) => ({
      where: s.where,
      text: `${s.text}\n${decodeBase64Runs(s.text)}`,
    }));
    const leaks: string[] = [];
    for (const key of keys) {
      const body = pemBody(key);
      for (let i = 0; i + WINDOW <= body.length; i += 1) {
        const piece = body.slice(i, i + WINDOW);
        const hit = searchable.find((s) => s.text.includes(piece));
        if (hit) leaks.push(`${piece} in ${hit.where}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});

/** Long enough that a random match is impossible, short enough to catch any fragment. */
const WINDOW = 16;

/** The base64 body of a PEM block (or bare base64), without armour or line breaks. */
function pemBody(pemOrBase64: string): string {
  return pemOrBase64.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
}

/** Every long base64 run in the text, decoded: catches key material stored base64-encoded. */
function decodeBase64Runs(text: string): string {
  return (text.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? [])
    .map((run) => Buffer.from(run, 'base64').toString('latin1'))
    .join('\n');
}
