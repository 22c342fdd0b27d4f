import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { IngestIotHubEvents } from '../../../shared/app/ingest/IngestIotHubEvents';
import { decodeIotHubMessage } from '../../../shared/app/ingest/decodeIotHubMessage';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { ManualClock } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import {
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  twinReplaced,
  twinUpdated,
} from '../../../shared/local/iotHubMessages';
import { aPki } from '../../support/certificates';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';
import { KEY_TYPES, KeyUnderTest, privateKeyOfType } from '../../support/privateKeyForms';
import { holdsSecret } from '../../support/storedSecrets';

/**
 * The hostile-keys suite: six key types (RSA, EC P-256, EC P-384, Ed25519, an OpenPGP secret
 * key, a JWK), generated with node:crypto, each put in every placement below and ingested through
 * IngestIotHubEvents on the in-memory doubles. Afterwards every ledger record, renewal-index
 * entry, audit record and dead letter is scanned for the key's secret, as stored and decoded
 * (JSON-unescaped, base64/base64url, hex, byte lists, percent-encoding); and where the message
 * names a device, that device carries the `private-key-reported` finding and its audit entry.
 */

const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';
const SENT_AT = '2026-11-20T10:00:00.000Z';
const MAX_BODY_BYTES = 256 * 1024;
const METER = { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' };
const NOT_A_CERTIFICATE =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';

interface Placement {
  name: string;
  /** Whether the message names a device certfleet can know: its ids are not the key. */
  deviceKnown: boolean;
  message(key: KeyUnderTest, deviceId: string): RawIotHubMessage;
}

const from = (deviceId: string) => ({ hub: HUB, deviceId, at: SENT_AT });
const report = (deviceId: string, reported: Record<string, unknown>) =>
  twinUpdated(from(deviceId), 7, reported);
const withCertificate = (deviceId: string, certificate: Record<string, unknown>) =>
  report(deviceId, { certificate: { ...METER, ...certificate } });
/** The message with its body changed by `change` (a deep copy). */
function alteredBody(message: RawIotHubMessage, change: (body: Record<string, unknown>) => void) {
  const body = structuredClone(message.body) as Record<string, unknown>;
  change(body);
  return { ...message, body };
}
const bodyText = (message: RawIotHubMessage) => JSON.stringify(message.body);
/** JSON text with the key's label and a JWK's `d` written as JSON escapes. */
const escaped = (json: string) =>
  json.replace(/PRIVATE/g, '\\u0050RIVATE').replace(/"d":/g, '"\\u0064":');
const cutShort = (key: KeyUnderTest) =>
  key.type === 'JWK' ? key.text.slice(0, -1) : key.text.slice(0, key.text.indexOf('-----END'));
function withIds(message: RawIotHubMessage, ids: { deviceId?: string; hub?: string }) {
  const properties = { ...message.properties };
  const systemProperties = { ...message.systemProperties };
  if (ids.deviceId !== undefined) {
    properties['deviceId'] = ids.deviceId;
    systemProperties['iothub-connection-device-id'] = ids.deviceId;
  }
  if (ids.hub !== undefined) {
    properties['hubName'] = ids.hub;
    systemProperties['user-id'] = ids.hub;
  }
  return { ...message, properties, systemProperties };
}

const PLACEMENTS: Placement[] = [
  {
    name: 'the certificate pem',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { pem: key.text }),
  },
  {
    name: 'the certificate pem, after a certificate',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { pem: `${NOT_A_CERTIFICATE}${key.text}` }),
  },
  {
    name: 'the certificate pem, with CRLF line ends',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { pem: key.text.replace(/\n/g, '\r\n') }),
  },
  {
    name: 'a privateKey property',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { privateKey: key.value }),
  },
  {
    name: "OpenSSL's traditional form in a backup property",
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { keyBackup: key.traditional ?? key.text }),
  },
  {
    name: 'base64 key bytes without armour in a key property',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { key: key.bytes.toString('base64') }),
  },
  {
    name: 'base64url key bytes without padding',
    deviceKnown: true,
    message: (key, id) => report(id, { secret: key.bytes.toString('base64url') }),
  },
  {
    name: 'hex key bytes',
    deviceKnown: true,
    message: (key, id) => report(id, { blob: key.bytes.toString('hex') }),
  },
  {
    name: 'key bytes inside a CERTIFICATE label',
    deviceKnown: true,
    message: (key, id) => withCertificate(id, { pem: key.inCertificateLabel }),
  },
  {
    name: 'the armoured text, base64-encoded',
    deviceKnown: true,
    message: (key, id) => report(id, { backup: Buffer.from(key.text).toString('base64') }),
  },
  {
    name: 'a percent-encoded URL',
    deviceKnown: true,
    message: (key, id) =>
      report(id, { upload: `https://backup.contoso.example/?key=${encodeURIComponent(key.text)}` }),
  },
  {
    name: 'an armoured block cut short',
    deviceKnown: true,
    message: (key, id) => report(id, { note: cutShort(key) }),
  },
  {
    name: 'a lowercase label',
    deviceKnown: true,
    message: (key, id) => report(id, { note: key.text.replace(/PRIVATE KEY/g, 'private key') }),
  },
  {
    name: 'deep inside the reported properties',
    deviceKnown: true,
    message: (key, id) =>
      report(id, { diagnostics: { dumps: [{ ok: true }, { inner: { blob: key.value } }] } }),
  },
  {
    name: 'an array',
    deviceKnown: true,
    message: (key, id) => report(id, { chain: [NOT_A_CERTIFICATE, key.value] }),
  },
  {
    name: 'a property name',
    deviceKnown: true,
    message: (key, id) => report(id, { installed: { [key.text]: true } }),
  },
  {
    name: 'a string inside a string',
    deviceKnown: true,
    message: (key, id) => report(id, { config: JSON.stringify({ tls: { key: key.value } }) }),
  },
  {
    name: 'a string inside a string inside a string',
    deviceKnown: true,
    message: (key, id) =>
      report(id, { config: JSON.stringify({ v: JSON.stringify({ tls: { key: key.value } }) }) }),
  },
  {
    name: 'the twin tags of a replaceTwin',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(twinReplaced(from(id), 7, { certificate: METER }), (body) => {
        body['tags'] = { note: key.value };
      }),
  },
  {
    name: 'the cohort tag',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(twinReplaced(from(id), 7, { certificate: METER }), (body) => {
        body['tags'] = { cohort: key.text };
      }),
  },
  {
    name: 'the desired properties',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(report(id, {}), (body) => {
        body['properties'] = { desired: { bootstrap: key.value, $version: 3 } };
      }),
  },
  {
    name: 'a top-level field of the body',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(withCertificate(id, {}), (body) => {
        body['attachment'] = key.value;
      }),
  },
  {
    name: 'a Buffer body',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text });
      return { ...message, body: Buffer.from(bodyText(message)) };
    },
  },
  {
    name: "a body in Node's serialized-Buffer form",
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text });
      return { ...message, body: Buffer.from(bodyText(message)).toJSON() };
    },
  },
  {
    name: "a body that is not JSON, in Node's serialized-Buffer form",
    deviceKnown: true,
    message: (key, id) => ({
      ...report(id, {}),
      body: Buffer.from(`key backup\n${key.text}`).toJSON(),
    }),
  },
  {
    name: 'a binary body of the key bytes',
    deviceKnown: true,
    message: (key, id) => ({ ...report(id, {}), body: key.bytes }),
  },
  {
    name: 'JSON text whose label is escaped',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text, jwk: key.value });
      return { ...message, body: escaped(bodyText(message)) };
    },
  },
  {
    name: 'JSON text whose label is escaped, cut short',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text, jwk: key.value });
      const text = escaped(bodyText(message));
      return { ...message, body: text.slice(0, text.length - 20) };
    },
  },
  {
    name: 'JSON text whose label is escaped, in a message without a hub',
    deviceKnown: false,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text, jwk: key.value });
      const { hubName: _hub, ...properties } = message.properties;
      const { 'user-id': _user, ...systemProperties } = message.systemProperties;
      return { ...message, properties, systemProperties, body: escaped(bodyText(message)) };
    },
  },
  {
    name: 'a body of text that is not JSON',
    deviceKnown: true,
    message: (key, id) => ({ ...report(id, {}), body: `crash dump follows\n${key.text}\n(end)` }),
  },
  {
    name: 'a body over the size limit',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, { pem: key.text, padding: 'x'.repeat(MAX_BODY_BYTES) });
      return { ...message, body: bodyText(message) };
    },
  },
  {
    name: 'an application property',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, {});
      return { ...message, properties: { ...message.properties, note: key.text } };
    },
  },
  {
    name: 'a system property',
    deviceKnown: true,
    message: (key, id) => {
      const message = withCertificate(id, {});
      const systemProperties = {
        ...message.systemProperties,
        'correlation-id': key.bytes.toString('base64url'),
      };
      return { ...message, systemProperties };
    },
  },
  {
    name: 'the device id, armoured',
    deviceKnown: false,
    message: (key, id) => withIds(withCertificate(id, {}), { deviceId: key.text }),
  },
  {
    name: 'the device id, as base64url key bytes',
    deviceKnown: false,
    message: (key, id) =>
      withIds(withCertificate(id, {}), { deviceId: key.bytes.toString('base64url') }),
  },
  {
    name: 'the hub name',
    deviceKnown: false,
    message: (key, id) =>
      withIds(withCertificate(id, {}), { hub: key.bytes.toString('base64url') }),
  },
  {
    name: 'the body of a connection event',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(deviceConnected(from(id), 1n), (body) => {
        body['diagnostics'] = key.value;
      }),
  },
  {
    name: 'the body of a deletion',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(deviceDeleted(from(id)), (body) => {
        body['tags'] = { note: key.value };
      }),
  },
  {
    name: 'the reported properties of a creation',
    deviceKnown: true,
    message: (key, id) =>
      alteredBody(deviceCreated(from(id)), (body) => {
        (body['properties'] as { reported: Record<string, unknown> }).reported['tls'] = key.value;
      }),
  },
];

const KEYS = Object.fromEntries(KEY_TYPES.map((type) => [type, privateKeyOfType(type)]));
const CASES = PLACEMENTS.flatMap((placement) =>
  KEY_TYPES.map((type) => [placement.name, type, placement] as const),
);

let inspector: X509CertificateInspector;

beforeAll(async () => {
  inspector = new X509CertificateInspector((await aPki()).trustBundlePem);
});

function aWorld() {
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector,
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: MAX_BODY_BYTES,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
      cohortTag: 'cohort',
    },
  });
  return { ingest, ledger, audit, deadLetters };
}

/** Everything the world stored, each as the text storage would hold. */
async function storedIn(world: ReturnType<typeof aWorld>) {
  const stored: { where: string; text: string }[] = [];
  for (const [key, { value }] of world.ledger.records) {
    stored.push({ where: `ledger ${key}`, text: `${key}\n${JSON.stringify(value)}` });
  }
  for await (const entry of world.ledger.actionsDueBefore('9999-12-31T00:00:00.000Z')) {
    stored.push({ where: 'renewal index', text: JSON.stringify(entry) });
  }
  for (const [key, entry] of world.ledger.strandedIndexEntries) {
    stored.push({ where: 'renewal index', text: `${key}\n${JSON.stringify(entry)}` });
  }
  for (const record of world.audit.all()) {
    stored.push({ where: 'audit trail', text: JSON.stringify(record) });
  }
  for (const letter of world.deadLetters.all()) {
    stored.push({ where: `dead letter ${letter.code}`, text: JSON.stringify(letter) });
  }
  return stored;
}

describe('the scan for a stored key', () => {
  it.each(KEY_TYPES)('sees a %s key in every encoding it decodes', (type) => {
    const key = KEYS[type]!;
    const forms = [
      key.text,
      JSON.stringify({ letter: { body: key.text } }),
      escaped(JSON.stringify({ body: JSON.stringify({ key: key.value }) })),
      key.bytes.toString('base64'),
      key.bytes.toString('base64url'),
      key.bytes.toString('hex'),
      [...key.bytes].join(','),
      JSON.stringify(key.bytes.toJSON()),
      encodeURIComponent(key.text),
      Buffer.from(key.text).toString('base64'),
      key.inCertificateLabel,
    ];

    expect(forms.filter((form) => !holdsSecret(form, key))).toEqual([]);
  });
});

describe('ingesting private keys in hostile placements', () => {
  it(`tries ${PLACEMENTS.length} placements of each of ${KEY_TYPES.length} key types`, () => {
    expect(CASES).toHaveLength(PLACEMENTS.length * KEY_TYPES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(200);
  });

  it.each(CASES)('keeps no key in %s (%s) anywhere in storage', async (_name, type, placement) => {
    const key = KEYS[type]!;
    const world = aWorld();

    await world.ingest.apply([placement.message(key, 'meter-0042')]);

    const stored = await storedIn(world);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((s) => holdsSecret(s.text, key)).map((s) => s.where)).toEqual([]);
  });

  it.each(CASES.filter(([, , placement]) => placement.deviceKnown))(
    'flags the device and audits the leak for %s (%s)',
    async (_name, type, placement) => {
      const world = aWorld();

      await world.ingest.apply([placement.message(KEYS[type]!, 'meter-0042')]);

      expect(world.ledger.get('meter-0042')?.findings.map((f) => f.code)).toContain(
        'private-key-reported',
      );
      expect(
        world.audit
          .all()
          .filter((e) => e.deviceId === 'meter-0042' && e.type === 'device.private-key-reported'),
      ).toHaveLength(1);
    },
  );

  it.each(CASES.filter(([, , placement]) => !placement.deviceKnown))(
    'dead-letters %s (%s) and records no device',
    async (_name, type, placement) => {
      const world = aWorld();

      const summary = await world.ingest.apply([placement.message(KEYS[type]!, 'meter-0042')]);

      expect(summary.deadLettered).toBe(1);
      expect(world.ledger.records.size).toBe(0);
      expect(world.audit.all()).toEqual([]);
    },
  );
});

describe('decoding a message that carries a private key', () => {
  const OPTIONS = {
    certificatePath: 'certificate',
    maxBodyBytes: MAX_BODY_BYTES,
    cohortTag: 'cohort',
  };
  const ed25519 = () => KEYS['Ed25519']!;
  const leakOf = (deviceId: string, opType: string) => ({
    kind: 'private-key-leak',
    hub: HUB,
    deviceId,
    occurredAt: '2026-11-20T10:00:00.000Z',
    opType,
  });

  it('rejects a device id that is key material, though it meets IoT Hub rules, naming no device', () => {
    const deviceId = ed25519().bytes.toString('base64url');
    const message = withIds(withCertificate('meter-0042', {}), { deviceId });

    expect(decodeIotHubMessage(message, OPTIONS)).toEqual({
      ok: false,
      code: 'private-key-in-identity',
      reason: 'the device id or hub name is private key material',
    });
  });

  it('keeps the leak of a known device with a message that cannot be used', () => {
    const message = { ...report('meter-0042', {}), body: `crash dump\n${ed25519().text}` };

    expect(decodeIotHubMessage(message, OPTIONS)).toMatchObject({
      ok: false,
      code: 'body-not-json',
      deviceId: 'meter-0042',
      leak: leakOf('meter-0042', 'updateTwin'),
    });
  });

  it('adds a leak event beside the event of a message that carries a key elsewhere', () => {
    const message = alteredBody(deviceConnected(from('meter-0042'), 1n), (body) => {
      body['diagnostics'] = ed25519().text;
    });

    const decoded = decodeIotHubMessage(message, OPTIONS);

    expect(decoded.ok && decoded.events.map((e) => e.kind)).toEqual([
      'connection',
      'private-key-leak',
    ]);
  });

  it('adds no leak event when the report itself flags the key', () => {
    const decoded = decodeIotHubMessage(
      withCertificate('meter-0042', { privateKey: ed25519().text }),
      OPTIONS,
    );

    expect(decoded.ok && decoded.events).toEqual([
      expect.objectContaining({ kind: 'twin-report', privateKeyReported: true }),
    ]);
  });

  it('reads no cohort from a tag that is key material, and flags the leak', () => {
    const message = alteredBody(twinReplaced(from('meter-0042'), 7, {}), (body) => {
      body['tags'] = { cohort: ed25519().bytes.toString('base64') };
    });

    const decoded = decodeIotHubMessage(message, OPTIONS);

    expect(decoded.ok && decoded.events).toEqual([
      expect.not.objectContaining({ cohort: expect.anything() }),
      expect.objectContaining(leakOf('meter-0042', 'replaceTwin')),
    ]);
  });

  it('finds nothing, and adds nothing, in a report of a real certificate chain', async () => {
    const leaf = await (await aPki('RSA-2048')).leaf('meter-0042').withKey('RSA-2048').issue();

    const decoded = decodeIotHubMessage(
      report('meter-0042', { certificate: leaf.report() }),
      OPTIONS,
    );

    expect(decoded.ok && decoded.events).toEqual([
      expect.objectContaining({ kind: 'twin-report', privateKeyReported: false }),
    ]);
  });
});
