import { certfleet } from '../support/runCli';
import { systemTimeIs } from '../support/systemTime';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useServices } from '../../shared/services';
import { aPki } from '../support/certificates';
import { testEnvironment } from '../support/testStorage';

/**
 * The CLI, in-process, against Azurite, fed events and certificates made by other tools:
 * certificates made by OpenSSL (test/fixtures/openssl/make-fixtures.sh) inside events written
 * in IoT Hub's documented routed shape (test/fixtures/iothub-events.jsonl).
 */
const fixtures = join(__dirname, '..', 'fixtures');
const eventsFile = join(fixtures, 'iothub-events.jsonl');
const fixture = (name: string) => readFileSync(join(fixtures, 'openssl', name), 'utf8').trim();

describe('certfleet CLI', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    useServices(undefined);
    Object.assign(
      process.env,
      testEnvironment({ CERTFLEET_TRUST_BUNDLE: join(fixtures, 'openssl', 'root-ca.pem') }),
    );
  });

  afterEach(() => {
    jest.useRealTimers();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('ingests IoT Hub events carrying OpenSSL certificates, skipping redeliveries and placing a late report where it belongs', async () => {
    systemTimeIs('2026-11-15T12:00:00.000Z');
    const run = await certfleet('ingest', eventsFile);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      // openssl-device-01's $version 1 (its October certificate) arrives after $version 2: it is
      // placed before it, so both certificates are audited (first seen, then renewed). Two of
      // the seven are the alerts below.
      '12 events: 8 applied, 1 duplicate, 0 stale, 1 irrelevant, 0 ignored, 3 dead-lettered; 7 audit records written',
    );
    const alerts = await certfleet('alerts', '--json');
    expect(alerts.code).toBe(0);
    expect(
      (JSON.parse(alerts.stdout) as { deviceId: string; rule: string; severity: string }[]).map(
        (a) => [a.deviceId, a.rule, a.severity],
      ),
    ).toEqual([
      ['openssl-device-03', 'certificate-expired', 'critical'],
      ['openssl-device-02', 'chain-untrusted', 'critical'],
    ]);
    const listed = await certfleet('alerts', '--severity', 'critical', '--rule', 'chain-untrusted');
    expect(listed.stdout).toBe(
      'CRITICAL chain-untrusted        fixture-hub/openssl-device-02  since 2026-11-15T12:00:00.000Z\n' +
        '         Device openssl-device-02 in fixture-hub: its certificate chain does not verify to the trust bundle.\n',
    );
    const checks = await certfleet('audit', 'checks', '--json');
    expect(checks.code).toBe(1);
    const report = JSON.parse(checks.stdout) as {
      devicesChecked: number;
      findings: { check: string; devices: string[] }[];
    };
    expect(report.findings.map((f) => [f.check, f.devices.join()])).toEqual([
      ['device-certificate-expiring', 'fixture-hub/openssl-device-03'],
    ]);
    expect(checks.stderr).toBe('certfleet: 1 audit findings\n');
    const wrong = await certfleet('alerts', '--rule', 'no-such-rule');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^certfleet: --rule must be one of certificate-expiring, /);
  });

  it('shows the certificate facts read from the PEM, thumbprints and serial agreeing with OpenSSL', async () => {
    await certfleet('ingest', eventsFile);
    const run = await certfleet('device', 'openssl-device-01', '--hub', 'fixture-hub', '--json');

    expect(run.code).toBe(0);
    const record = JSON.parse(run.stdout);
    expect(record.current).toMatchObject({
      source: 'pem',
      thumbprintSha256: fixture('device-p384-renewed.sha256'),
      thumbprintSha1: fixture('device-p384-renewed.sha1'),
      serialNumber: fixture('device-p384-renewed.serial').replace(/^0+/, ''),
      validFrom: '2026-11-25T00:00:00.000Z',
      validUntil: '2026-12-25T00:00:00.000Z',
      commonName: 'openssl-device-01',
      keyAlgorithm: 'ECDSA P-384',
      keySize: 384,
      chainLength: 1,
    });
    expect(record.previous.thumbprintSha256).toBe(fixture('device-p384.sha256'));
    expect(record.findings).toEqual([]);
    expect(record.connection.state).toBe('disconnected');
    expect(record.pendingAudit).toBeUndefined();
  });

  it('reads an RSA 2048 certificate from a replaceTwin and a device that reports only its validity', async () => {
    await certfleet('ingest', eventsFile);
    const rsa = JSON.parse((await certfleet('device', 'openssl-device-02', '--json')).stdout);
    const minimal = JSON.parse((await certfleet('device', 'openssl-device-03', '--json')).stdout);

    expect(rsa.current).toMatchObject({
      keyAlgorithm: 'RSA 2048',
      thumbprintSha256: fixture('device-rsa.sha256'),
    });
    expect(rsa.current.signatureAlgorithm).toMatch(/SHA-256/);
    expect(minimal.current).toMatchObject({
      source: 'reported',
      validFrom: '2026-11-03T09:00:00.000Z',
      validUntil: '2026-11-10T09:00:00.000Z',
    });
    // 85% of a 7-day lifetime (the default policy): 5 days 22 h 48 min after validFrom.
    expect(minimal.renewalDueAt).toBe('2026-11-09T07:48:00.000Z');
  });

  it('trusts a chain that reaches a bundle holding only the issuing CA', async () => {
    process.env.CERTFLEET_TRUST_BUNDLE = join(fixtures, 'openssl', 'issuing-ca.pem');
    await certfleet('ingest', eventsFile);
    const record = JSON.parse((await certfleet('device', 'openssl-device-02', '--json')).stdout);

    expect(record.findings).toEqual([]);
  });

  it('flags a device whose chain does not reach the configured trust bundle', async () => {
    process.env.CERTFLEET_TRUST_BUNDLE = (await aPki()).trustBundlePem; // some other PKI
    await certfleet('ingest', eventsFile);
    const record = JSON.parse((await certfleet('device', 'openssl-device-02', '--json')).stdout);

    expect(record.findings.map((f: { code: string }) => f.code)).toContain('chain-untrusted');
  });

  it('records the garbage certificate as a finding and keeps every bad line as a dead letter', async () => {
    await certfleet('ingest', eventsFile);
    const device = JSON.parse((await certfleet('device', 'openssl-device-04', '--json')).stdout);
    const letters = (await certfleet('deadletters')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

    expect(device.findings.map((f: { code: string }) => f.code)).toEqual([
      'invalid-certificate-report',
    ]);
    expect(letters.map((l: { code: string }) => l.code).sort()).toEqual([
      'invalid-certificate-report',
      'invalid-line',
      'unknown-source',
    ]);
  });

  it('writes nothing twice when the same file is ingested again', async () => {
    await certfleet('ingest', eventsFile);
    const again = await certfleet('ingest', eventsFile);
    const verify = await certfleet('audit', 'verify', '--date', '2026-11-01');

    expect(again.stdout).toContain('0 applied');
    expect(again.stdout).toContain('0 audit records written');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/1 blobs for 2026-11-01, 0 broken/);
    expect(verify.stdout).toMatch(/ok {6}2026\/11\/01\/shard-\d\d\.jsonl: 2 records/);
  });

  it('streams the ledger as CSV with one row per device and as a JSON array', async () => {
    await certfleet('ingest', eventsFile);
    const csv = (await certfleet('devices', '--format', 'csv')).stdout.trim().split('\n');
    const json = JSON.parse((await certfleet('devices', '--format', 'json')).stdout);

    expect(csv[0]).toBe(
      'hub,deviceId,lifecycle,connection,lastSeenAt,source,validFrom,validUntil,renewalDueAt,thumbprintSha1,thumbprintSha256,serialNumber,subject,issuer,keyAlgorithm,findings',
    );
    expect(csv).toHaveLength(5);
    expect(
      csv.some(
        (row) =>
          row.startsWith(`fixture-hub,openssl-device-02,active,unknown,`) &&
          row.includes(fixture('device-rsa.sha256')),
      ),
    ).toBe(true);
    expect(json.map((r: { deviceId: string }) => r.deviceId)).toEqual([
      'openssl-device-01',
      'openssl-device-02',
      'openssl-device-03',
      'openssl-device-04',
    ]);
  });

  it('prints an empty JSON array for an empty ledger', async () => {
    const run = await certfleet('devices', '--format', 'json');
    expect(JSON.parse(run.stdout)).toEqual([]);
  });

  it('passes the fleet audit checks on an empty ledger, with every check named', async () => {
    const run = await certfleet('audit', 'checks');

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^fleet audit at \S+: 0 devices checked$/);
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/))).toEqual([
      ['device-certificate-expiring', '0'],
      ['ca-certificate-expiring', '0'],
      ['certificate-shared', '0'],
      ['public-key-shared', '0'],
      ['weak-key-or-signature', '0'],
      ['validity-too-long', '0'],
      ['distrusted-issuer', '0'],
      ['key-not-rotated', '0'],
    ]);
  });

  it('exits 2 naming the setting when a setting is invalid', async () => {
    process.env.CERTFLEET_AUDIT_SHARDS = 'many';
    const run = await certfleet('devices');

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^certfleet: invalid settings: CERTFLEET_AUDIT_SHARDS: must be a whole number/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 for bad usage and 1 for a device that is not there', async () => {
    expect((await certfleet('frobnicate')).code).toBe(2);
    expect((await certfleet('ingest', join(fixtures, 'no-such-file.jsonl'))).code).toBe(2);
    expect((await certfleet('audit', 'verify', '--date', '23/11/2026')).code).toBe(2);
    expect((await certfleet('devices', '--format', 'xml')).code).toBe(2);
    const missing = await certfleet('device', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('certfleet: device nobody is not in the ledger\n');
  });
});
