import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { IngestIotHubEvents } from '../../../shared/app/ingest/IngestIotHubEvents';
import { RecordRejected, StorageRejected, TransientFault } from '../../../shared/app/ports';
import { ManualClock } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import {
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  deviceDisconnected,
  twinUpdated,
} from '../../../shared/local/iotHubMessages';
import { IssuedLeaf, TestPki, aPki } from '../../support/certificates';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';

const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';
const THERMOSTAT = 'thermostat-0001';
const METER = 'meter-0002';

const from = (deviceId: string, at: string) => ({ hub: HUB, deviceId, at });

let pki: TestPki;
let inspector: X509CertificateInspector;
let firstCertificate: IssuedLeaf;
let renewedCertificate: IssuedLeaf;

beforeAll(async () => {
  pki = await aPki();
  inspector = new X509CertificateInspector(pki.trustBundlePem);
  firstCertificate = await pki.leaf(THERMOSTAT).validFrom('2026-11-01T00:00:00Z').issue();
  renewedCertificate = await pki.leaf(THERMOSTAT).validFrom('2026-11-25T00:00:00Z').issue();
});

function aUseCase() {
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const deadLetters = new InMemoryDeadLetters();
  const asked: string[][] = [];
  const ingest = new IngestIotHubEvents({
    askNow: async (devices) => {
      asked.push(devices.map((d) => d.deviceId));
    },
    ledger,
    audit,
    deadLetters,
    inspector,
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
    },
  });
  return { ingest, ledger, audit, deadLetters, asked };
}

/** The thermostat's first certificate, reported with its PEM chain at reported $version 2. */
function firstReport(): RawIotHubMessage {
  return twinUpdated(from(THERMOSTAT, '2026-11-01T01:00:00.000Z'), 2, {
    certificate: firstCertificate.report(),
  });
}

function renewalReport(): RawIotHubMessage {
  return twinUpdated(from(THERMOSTAT, '2026-11-25T01:00:00.000Z'), 3, {
    certificate: renewedCertificate.report(),
  });
}

/** A meter that reports only validFrom/validUntil, the minimum Microsoft asks for. */
function meterReport(): RawIotHubMessage {
  return twinUpdated(from(METER, '2026-11-02T00:00:00.000Z'), 4, {
    certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-11-08T00:00:00Z' },
  });
}

function pendingOf(ledger: InMemoryLedger, deviceId: string): DeviceRecord['pendingAudit'] {
  return ledger.get(deviceId)?.pendingAudit ?? [];
}

describe('IngestIotHubEvents', () => {
  it('applies the good events of a batch and dead-letters only the bad ones, each with its reason', async () => {
    const { ingest, ledger, audit, deadLetters } = aUseCase();
    const good = firstReport();
    const batch: RawIotHubMessage[] = [
      good,
      deviceConnected(from(METER, '2026-11-01T02:00:00.000Z'), 1n),
      good, // redelivered
      twinUpdated(from(THERMOSTAT, '2026-11-01T00:30:00.000Z'), 1, {
        certificate: { validFrom: '2026-10-01T00:00:00Z', validUntil: '2026-10-31T00:00:00Z' },
      }), // an older $version, late
      twinUpdated(from('camera-0007', '2026-11-01T03:00:00.000Z'), 2, {
        certificate: {
          validFrom: '2026-11-01T00:00:00Z',
          validUntil: '2026-12-01T00:00:00Z',
          pem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
        },
      }),
      { ...twinUpdated(from('camera-0008', '2026-11-01T04:00:00.000Z'), 2, {}), body: '{"pro' },
      { body: { hello: 'world' }, properties: { source: 'someone-else' }, systemProperties: {} },
    ];

    const summary = await ingest.apply(batch);

    expect(summary).toMatchObject({
      messages: 7,
      applied: 3,
      duplicate: 1,
      stale: 0,
      deadLettered: 3,
      auditWritten: 2,
    });
    const letters = deadLetters.all().sort((a, b) => a.code.localeCompare(b.code));
    expect(letters).toEqual([
      expect.objectContaining({
        code: 'body-not-json',
        deviceId: 'camera-0008',
        reason: expect.stringMatching(/^body is not JSON/),
      }),
      expect.objectContaining({
        code: 'invalid-certificate-report',
        deviceId: 'camera-0007',
        reason: expect.stringMatching(/^pem: /),
      }),
      expect.objectContaining({
        code: 'unknown-source',
        reason: expect.stringMatching(/not an IoT Hub twin, lifecycle or connection event/),
      }),
    ]);
    expect(ledger.get(THERMOSTAT)).toMatchObject({
      reportedVersion: 2,
      current: { thumbprintSha256: firstCertificate.sha256, source: 'pem' },
      findings: [],
      pendingAudit: [],
    });
    expect(ledger.get(METER)?.connection).toMatchObject({ state: 'connected' });
    expect(ledger.get('camera-0007')?.findings.map((f) => f.code)).toEqual([
      'invalid-certificate-report',
    ]);
    expect(ledger.get('camera-0007')?.current).toBeUndefined();
    expect(ledger.get('camera-0008')).toBeUndefined();
    // The late, older report is placed before the good one: its certificate was the first.
    expect(audit.all().map((r) => [r.type, r.deviceId, r.new?.validUntil])).toEqual([
      ['certificate.first-seen', THERMOSTAT, '2026-10-31T00:00:00.000Z'],
      ['certificate.renewed', THERMOSTAT, firstCertificate.validUntil],
    ]);
  });

  it('applies the events of one device in the order they arrived', async () => {
    const { ingest, ledger, audit } = aUseCase();

    await ingest.apply([
      firstReport(),
      deviceConnected(from(THERMOSTAT, '2026-11-01T01:10:00.000Z'), 1n),
      renewalReport(),
      deviceDisconnected(from(THERMOSTAT, '2026-11-25T02:00:00.000Z'), 2n),
    ]);

    const record = ledger.get(THERMOSTAT);
    expect(record?.current?.thumbprintSha256).toBe(renewedCertificate.sha256);
    expect(record?.previous?.thumbprintSha256).toBe(firstCertificate.sha256);
    expect(record?.connection.state).toBe('disconnected');
    expect(audit.all().map((r) => r.type)).toEqual([
      'certificate.first-seen',
      'certificate.renewed',
    ]);
  });

  it('places a report that arrives after a newer version of the same device where it belongs, and ignores an older connection change', async () => {
    const { ingest, ledger, audit } = aUseCase();

    const summary = await ingest.apply([
      renewalReport(),
      firstReport(),
      deviceDisconnected(from(THERMOSTAT, '2026-11-25T02:00:00.000Z'), 2n),
      deviceConnected(from(THERMOSTAT, '2026-11-01T01:10:00.000Z'), 1n),
    ]);

    expect(summary).toMatchObject({ applied: 3, stale: 1 });
    expect(ledger.get(THERMOSTAT)?.current?.thumbprintSha256).toBe(renewedCertificate.sha256);
    expect(ledger.get(THERMOSTAT)?.previous?.thumbprintSha256).toBe(firstCertificate.sha256);
    expect(ledger.get(THERMOSTAT)?.connection.state).toBe('disconnected');
    expect(audit.all().map((r) => [r.type, r.new?.thumbprintSha256])).toEqual([
      ['certificate.first-seen', firstCertificate.sha256],
      ['certificate.renewed', renewedCertificate.sha256],
    ]);
  });

  it('decides again on the fresh record when a concurrent writer changed it first', async () => {
    const { ingest, ledger, audit } = aUseCase();
    await ingest.apply([deviceCreated(from(THERMOSTAT, '2026-11-01T00:00:00.000Z'))]);
    let writesSeen = 0;
    ledger.beforeWrite = (record) => {
      writesSeen += 1;
      if (writesSeen > 1) return;
      // Another instance records a connection between our read and our write.
      const key = `${record.hub}/${record.deviceId}`;
      const stored = ledger.records.get(key);
      if (!stored) throw new Error('the record should exist');
      const theirs: DeviceRecord = {
        ...structuredClone(stored.value),
        connection: {
          state: 'connected',
          sequenceNumber: '5',
          changedAt: '2026-11-01T00:59:00.000Z',
        },
      };
      ledger.records.set(key, { value: theirs, etag: 'W/"their-write"' });
    };

    const summary = await ingest.apply([firstReport()]);

    expect(summary).toMatchObject({ applied: 1, deadLettered: 0, auditWritten: 1 });
    expect(writesSeen).toBeGreaterThanOrEqual(2);
    const record = ledger.get(THERMOSTAT);
    expect(record?.connection).toEqual({
      state: 'connected',
      sequenceNumber: '5',
      changedAt: '2026-11-01T00:59:00.000Z',
    });
    expect(record?.current?.thumbprintSha256).toBe(firstCertificate.sha256);
    expect(record?.createdAt).toBe('2026-11-01T00:00:00.000Z');
    expect(record?.pendingAudit).toEqual([]);
    expect(audit.all().map((r) => r.type)).toEqual(['certificate.first-seen']);
  });

  it('lets a transient ledger fault fail the batch, and applies the redelivered batch exactly once', async () => {
    const { ingest, ledger, audit, deadLetters } = aUseCase();
    let failed = false;
    ledger.beforeWrite = (record) => {
      if (record.deviceId === METER && !failed) {
        failed = true;
        throw new TransientFault('write ledger record: storage unavailable (503)');
      }
    };
    const batch = [firstReport(), meterReport()];

    await expect(ingest.apply(batch)).rejects.toBeInstanceOf(TransientFault);
    expect(deadLetters.all()).toEqual([]);

    // The Functions host retries the batch.
    await ingest.apply(batch);

    expect(
      audit
        .all()
        .map((r) => `${r.type} ${r.deviceId}`)
        .sort(),
    ).toEqual([`certificate.first-seen ${METER}`, `certificate.first-seen ${THERMOSTAT}`]);
    expect(pendingOf(ledger, THERMOSTAT)).toEqual([]);
    expect(pendingOf(ledger, METER)).toEqual([]);
    expect(ledger.get(METER)?.current?.validUntil).toBe('2026-11-08T00:00:00.000Z');
    expect(deadLetters.all()).toEqual([]);
  });

  it("dead-letters a device's events when storage can never hold its record, and applies the rest of the batch", async () => {
    const { ingest, ledger, audit, deadLetters } = aUseCase();
    ledger.beforeWrite = (record) => {
      if (record.deviceId === METER) throw new RecordRejected('entity too large');
    };

    const summary = await ingest.apply([
      deviceCreated(from(METER, '2026-11-01T00:00:00.000Z')),
      firstReport(),
      meterReport(),
    ]);

    expect(summary).toMatchObject({ deadLettered: 2, auditWritten: 1 });
    expect(deadLetters.all()).toEqual([
      expect.objectContaining({
        code: 'ledger-update-failed',
        reason: 'ledger update failed: entity too large',
        hub: HUB,
        deviceId: METER,
      }),
      expect.objectContaining({ code: 'ledger-update-failed', deviceId: METER }),
    ]);
    expect(ledger.get(METER)).toBeUndefined();
    expect(ledger.get(THERMOSTAT)?.current?.thumbprintSha256).toBe(firstCertificate.sha256);
    expect(audit.all().map((r) => `${r.type} ${r.deviceId}`)).toEqual([
      `certificate.first-seen ${THERMOSTAT}`,
    ]);
  });

  it('fails the batch, dead-lettering nothing, when storage refuses certfleet itself (permissions, endpoint)', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();
    ledger.beforeWrite = () => {
      throw new StorageRejected(
        'write ledger record: storage refused (403 AuthorizationPermissionMismatch)',
        403,
      );
    };

    await expect(ingest.apply([firstReport(), meterReport()])).rejects.toBeInstanceOf(
      StorageRejected,
    );
    expect(deadLetters.all()).toEqual([]);
  });

  it('writes no second audit record when a crash after the audit append is followed by redelivery', async () => {
    const { ingest, ledger, audit } = aUseCase();
    audit.failAfterNextAppend = true;

    await expect(ingest.apply([firstReport()])).rejects.toThrow('simulated crash');
    expect(audit.all()).toHaveLength(1);
    expect(pendingOf(ledger, THERMOSTAT).map((e) => e.type)).toEqual(['certificate.first-seen']);

    await ingest.apply([firstReport()]);

    expect(audit.all().map((r) => r.type)).toEqual(['certificate.first-seen']);
    expect(pendingOf(ledger, THERMOSTAT)).toEqual([]);
    const verification = await audit.verifyDate('2026-11-01');
    expect(verification.blobs.map((b) => b.result)).toEqual([
      expect.objectContaining({ ok: true, records: 1 }),
    ]);
  });

  it("writes an entry left pending by a crash once, with the device's next event", async () => {
    const { ingest, ledger, audit } = aUseCase();
    audit.failAfterNextAppend = true;
    await expect(ingest.apply([firstReport()])).rejects.toThrow('simulated crash');

    await ingest.apply([deviceConnected(from(THERMOSTAT, '2026-11-01T02:00:00.000Z'), 7n)]);

    expect(audit.all().map((r) => r.type)).toEqual(['certificate.first-seen']);
    expect(pendingOf(ledger, THERMOSTAT)).toEqual([]);
    expect(ledger.get(THERMOSTAT)?.connection.state).toBe('connected');
  });

  it('names the old and the new certificate in the audit records', async () => {
    const { ingest, audit } = aUseCase();
    const identity = (leaf: IssuedLeaf) => ({
      thumbprintSha1: leaf.sha1,
      thumbprintSha256: leaf.sha256,
      serialNumber: leaf.serialNumber,
      subject: `CN=${THERMOSTAT}`,
      issuer: 'CN=certfleet test issuing CA',
      validFrom: leaf.validFrom,
      validUntil: leaf.validUntil,
    });

    await ingest.apply([firstReport()]);
    await ingest.apply([renewalReport()]);
    await ingest.apply([deviceDeleted(from(THERMOSTAT, '2026-11-26T00:00:00.000Z'))]);

    const [firstSeen, renewed, deleted] = audit.all();
    expect(firstSeen).toMatchObject({ type: 'certificate.first-seen', reportedVersion: 2 });
    expect(firstSeen?.new).toEqual(identity(firstCertificate));
    expect(firstSeen?.old).toBeUndefined();
    expect(renewed).toMatchObject({ type: 'certificate.renewed', reportedVersion: 3 });
    expect(renewed?.old).toEqual(identity(firstCertificate));
    expect(renewed?.new).toEqual(identity(renewedCertificate));
    expect(deleted).toMatchObject({ type: 'device.deleted', opType: 'deleteDeviceIdentity' });
    expect(deleted?.old).toEqual(identity(renewedCertificate));
    expect(deleted?.new).toBeUndefined();
  });
});

describe('IngestIotHubEvents and pending renewals', () => {
  async function unreachableThermostat() {
    const useCase = aUseCase();
    await useCase.ingest.apply([firstReport()]);
    const stored = (await useCase.ledger.read({ hub: HUB, deviceId: THERMOSTAT }))!;
    const record = structuredClone(stored.value);
    record.renewal = {
      status: 'unreachable',
      campaignId: 'c1',
      startedAt: NOW,
      attempts: 1,
      failures: 0,
      nextAttemptAt: '2026-11-26T18:00:00.000Z',
    };
    await useCase.ledger.write(record, stored);
    return useCase;
  }

  it('asks a device with a pending renewal right after it connects, even when another event follows in the batch', async () => {
    const { ingest, asked } = await unreachableThermostat();
    await ingest.apply([
      deviceConnected(from(THERMOSTAT, '2026-11-26T12:00:00.000Z'), 5n),
      meterReport(),
      // Applied too (the same certificate again, a newer $version): it must not cancel the ask.
      twinUpdated(from(THERMOSTAT, '2026-11-26T12:00:01.000Z'), 3, {
        certificate: firstCertificate.report(),
      }),
    ]);

    expect(asked).toEqual([[THERMOSTAT]]);
  });

  it('does not ask a device that connected and disconnected again within the batch', async () => {
    const { ingest, asked } = await unreachableThermostat();
    await ingest.apply([
      deviceConnected(from(THERMOSTAT, '2026-11-26T12:00:00.000Z'), 5n),
      deviceDisconnected(from(THERMOSTAT, '2026-11-26T12:00:02.000Z'), 6n),
    ]);

    expect(asked).toEqual([]);
  });
});
