import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { generateKeys, issueLeaf } from '../../shared/local/LocalCa';
import {
  MessageOrigin,
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  deviceDisconnected,
  twinReplaced,
  twinUpdated,
} from '../../shared/local/iotHubMessages';
import { altered } from './alteredCertificates';
import { IssuedLeaf, TestPki, aPki } from './certificates';
import { KEY_TYPES, KeyUnderTest, privateKeyOfType } from './privateKeyForms';

/**
 * A reproducible stream of routed IoT Hub messages for the hostile-input suite
 * (test/hostile/hostileInput.azurite.test.ts): good devices living ordinary lives (created,
 * connected, reporting real certificates or their dates, renewing, deleted and created again,
 * redelivered), interleaved with every kind of message IoT Hub would never send or certfleet must
 * not keep: ids it cannot have given, bodies that are not JSON or too large or too deep, wrong
 * types, dates out of range, certificates that do not parse or do not verify, private keys in
 * every placement and form, prototype-pollution keys, control characters.
 *
 * Each message says whether it is good and, when it is not, what certfleet must make of it: the
 * dead letter it leaves (by reason code) and the record it leaves (with which findings), so the
 * suite counts outcomes against intentions. The same seed gives the same stream of kinds, ids,
 * times and shapes; key material and certificates are generated afresh for each run (none of the
 * expectations depends on their bytes).
 *
 *   const world = await aHostileWorld();
 *   const stream = hostileEventStream(world, { seed: 1, count: 10_000 });
 */

/** When the stream starts; message `i` is sent `i` seconds later. */
export const STREAM_START = '2026-11-02T00:00:00.000Z';

/** What certfleet must make of a bad message. */
export interface Expectation {
  /** The reason code of the dead letter it leaves; absent: it leaves none. */
  deadLetter?: string;
  /** The record it leaves; absent: it names no device certfleet may record. */
  record?: ExpectedRecord;
}

export interface ExpectedRecord {
  hub: string;
  deviceId: string;
  /** Findings the record must carry (among others). */
  findings: readonly string[];
  /** Findings it must not carry. */
  withoutFindings?: readonly string[];
  /** What its current certificate must say, where the kind is about that. */
  current?: { validFrom?: string; serialNumber?: string };
}

export interface StreamEvent {
  /** Family of the message: `good: …` or `hostile: …`. */
  kind: string;
  /** The variant within its kind (a key placement and type, a transport form…). */
  detail?: string;
  good: boolean;
  message: RawIotHubMessage;
  /** For bad messages: the outcome they were built to provoke. */
  expected: Expectation;
}

/** Certificates and keys made once for a whole stream. */
export interface HostileWorld {
  /** The trusted PKI (P-384) every good device's certificates come from. */
  pki: TestPki;
  /** An RSA PKI, also trusted: certificates edited after issue (year 0001, negative serial). */
  rsaPki: TestPki;
  /** A PKI with the trusted one's names but its own keys: trusted by nobody. */
  rogue: TestPki;
  /** Both trusted PKIs: CERTFLEET_TRUST_BUNDLE. */
  trustBundlePem: string;
  /** Real private keys of the six key types, one each. */
  keys: readonly KeyUnderTest[];
  /** Leaves of good devices, by device id: the first, its renewal, the one of its next life. */
  leaves: ReadonlyMap<string, readonly IssuedLeaf[]>;
  /** Leaves of the rogue PKI whose CN is their own device's id. */
  rogueLeaves: readonly IssuedLeaf[];
  /** Leaves of the rogue PKI whose CN is a good device's id. */
  rogueImpostors: readonly IssuedLeaf[];
  /** A leaf valid from the year 0001, and one with serial -5 (DER FB), signed by the RSA PKI. */
  yearOne: { deviceId: string; pem: string };
  negativeSerial: { deviceId: string; pem: string; validFrom: string; validUntil: string };
  /** A leaf whose notAfter is before its notBefore. */
  backwards: IssuedLeaf;
}

/** Good devices that report their certificate's PEM; their ids are their certificates' CNs. */
export const PEM_DEVICES = 96;
const KEY_POOL = 12;
const ROGUE_DEVICES = 4;

export async function aHostileWorld(): Promise<HostileWorld> {
  const [pki, rsaPki, rogue] = await Promise.all([aPki(), aPki('RSA-2048'), aPki()]);
  // Key pairs are the slow part: a pool, assigned so that a device's certificates differ.
  const keyPool = await Promise.all(Array.from({ length: KEY_POOL }, () => generateKeys('P-384')));
  const leaves = new Map<string, IssuedLeaf[]>();
  for (let i = 0; i < PEM_DEVICES; i += 1) {
    const id = pemDeviceId(i);
    const keys = (k: number) => keyPool[(i * 3 + k) % KEY_POOL]!;
    leaves.set(id, [
      await pki.leaf(id).withKeys(keys(0)).validFrom(GOOD_VALIDITY[0].from).forDays(30).issue(),
      await pki.leaf(id).withKeys(keys(1)).validFrom(GOOD_VALIDITY[1].from).forDays(45).issue(),
      await pki.leaf(id).withKeys(keys(2)).validFrom(GOOD_VALIDITY[2].from).forDays(40).issue(),
    ]);
  }
  const rogueLeaves: IssuedLeaf[] = [];
  const rogueImpostors: IssuedLeaf[] = [];
  for (let i = 0; i < ROGUE_DEVICES; i += 1) {
    const keys = keyPool[i]!;
    rogueLeaves.push(await rogue.leaf(`h-rogue-${i}`).withKeys(keys).issue());
    rogueImpostors.push(await rogue.leaf(pemDeviceId(i)).withKeys(keys).issue());
  }
  // Certificates @peculiar/x509 cannot make: edited after issue and signed again (RSA keeps the
  // signature's length). The year 0001 needs a GeneralizedTime to replace (2050 and later).
  const yearOneLeaf = await rsaPki
    .leaf('h-year-one')
    .withKeys(keyPool[1]!)
    .validFrom('2050-01-01T00:00:00Z')
    .forDays(366)
    .issue();
  const negativeLeaf = await issueLeaf(rsaPki.issuing, {
    commonName: 'h-negative-serial',
    publicKey: keyPool[2]!.publicKey,
    notBefore: '2026-11-01T00:00:00Z',
    notAfter: '2026-12-01T00:00:00Z',
    serialNumber: '05',
  });
  const backwards = await pki
    .leaf('h-backwards')
    .withKeys(keyPool[0]!)
    .validFrom('2026-11-01T00:00:00Z')
    .forDays(-2)
    .issue();
  return {
    pki,
    rsaPki,
    rogue,
    trustBundlePem: `${pki.trustBundlePem}\n${rsaPki.trustBundlePem}`,
    keys: KEY_TYPES.map(privateKeyOfType),
    leaves,
    rogueLeaves,
    rogueImpostors,
    yearOne: {
      deviceId: 'h-year-one',
      pem: await altered(yearOneLeaf.certificate, rsaPki.issuing, [
        ['20500101000000Z', '00010101000000Z'],
      ]),
    },
    negativeSerial: {
      deviceId: 'h-negative-serial',
      // Version 3, then the serial: 05 becomes FB, which is -5.
      pem: await altered(negativeLeaf, rsaPki.issuing, [
        [Buffer.from('a003020102020105', 'hex'), Buffer.from('a0030201020201fb', 'hex')],
      ]),
      validFrom: '2026-11-01T00:00:00Z',
      validUntil: '2026-12-01T00:00:00Z',
    },
    backwards,
  };
}

export function pemDeviceId(i: number): string {
  return `meter-${String(i).padStart(4, '0')}`;
}

// The good devices' certificates: valid through the stream (a few hours from STREAM_START).
const GOOD_VALIDITY = [
  { from: '2026-10-20T00:00:00.000Z', days: 30 },
  { from: '2026-11-01T00:00:00.000Z', days: 45 },
  { from: '2026-11-01T12:00:00.000Z', days: 40 },
] as const;
const METER = { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' };
const NOT_A_CERTIFICATE =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';

/** A small seeded generator (a Weyl sequence through MurmurHash3's finaliser): reproducible. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** The items in an order of the seed's choosing (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Good devices

const GOOD_HUBS = ['contoso-hub', 'fabrikam-hub', 'a', 'a-x'] as const;
/** Every character IoT Hub allows in a device id besides letters and digits. */
const ID_PUNCTUATION = "-:.+%_#*?!(),=@;$'";

interface GoodDevice {
  hub: string;
  deviceId: string;
  steps: GoodStep[];
  sent: RawIotHubMessage[];
}

interface GoodStep {
  kind: string;
  /** The message at this time; a redelivery ignores the time. */
  message(at: string): RawIotHubMessage;
}

/** Good devices enough for `events` messages. */
function goodDevices(world: HostileWorld, rng: SeededRandom, events: number): GoodDevice[] {
  const devices: GoodDevice[] = [];
  let steps = 0;
  for (let i = 0; steps < events; i += 1) {
    const pem = i < PEM_DEVICES;
    const hub = pem ? rng.pick(GOOD_HUBS.slice(0, 2)) : rng.pick(GOOD_HUBS);
    const deviceId = pem ? pemDeviceId(i) : fieldsDeviceId(i, rng);
    const device: GoodDevice = { hub, deviceId, steps: [], sent: [] };
    device.steps = goodLife(device, pem ? world.leaves.get(deviceId)! : undefined, rng);
    devices.push(device);
    steps += device.steps.length;
  }
  // Ids that hostile messages try to collide with: hub `a` + `x%2Fd`, hub `a-x` + `d`.
  devices.push(
    ...[['a', 'x%2Fd'] as const, ['a-x', 'd'] as const].map(([hub, deviceId]) => {
      const device: GoodDevice = { hub, deviceId, steps: [], sent: [] };
      device.steps = goodLife(device, undefined, rng);
      return device;
    }),
  );
  return devices;
}

function fieldsDeviceId(i: number, rng: SeededRandom): string {
  if (!rng.chance(0.25)) return `sensor-${String(i).padStart(4, '0')}`;
  // Every allowed character, in an order of the seed's choosing: a key nobody may mangle.
  const punctuation = rng.shuffled([...ID_PUNCTUATION]).join('');
  return `s${i}${punctuation}z`;
}

/**
 * A device's ordinary life: created, connected, a certificate reported (its PEM and chain, or
 * only its dates), sometimes the whole twin again, renewed, disconnected; some are deleted and
 * created again with a new certificate, some have an event redelivered, some a module event.
 */
function goodLife(
  device: GoodDevice,
  leaves: readonly IssuedLeaf[] | undefined,
  rng: SeededRandom,
): GoodStep[] {
  let sequence = 0n;
  const origin = (at: string): MessageOrigin => ({
    hub: device.hub,
    deviceId: device.deviceId,
    at,
  });
  const certificate = (n: 0 | 1 | 2) => goodCertificate(leaves?.[n], n, rng);
  const steps: GoodStep[] = [];
  if (rng.chance(0.85))
    steps.push({ kind: 'good: created', message: (at) => deviceCreated(origin(at)) });
  steps.push({
    kind: 'good: connection',
    message: (at) => deviceConnected(origin(at), (sequence += 1n)),
  });
  const first = certificate(0);
  steps.push({
    kind: first.kind,
    message: (at) => twinUpdated(origin(at), 2, { certificate: first.value }),
  });
  if (rng.chance(0.3)) {
    steps.push({
      kind: 'good: whole twin',
      // The twin as IoT Hub holds it: a field removed with null is not there.
      message: (at) => twinReplaced(origin(at), 2, { certificate: withoutNulls(first.value) }),
    });
  }
  const renewed = certificate(1);
  steps.push({
    kind: renewed.kind,
    message: (at) => twinUpdated(origin(at), 3, { certificate: renewed.value }),
  });
  steps.push({
    kind: 'good: connection',
    message: (at) => deviceDisconnected(origin(at), (sequence += 1n)),
  });
  if (rng.chance(0.2)) {
    const next = certificate(2);
    steps.push(
      { kind: 'good: deleted', message: (at) => deviceDeleted(origin(at)) },
      { kind: 'good: created again', message: (at) => deviceCreated(origin(at)) },
      { kind: next.kind, message: (at) => twinUpdated(origin(at), 2, { certificate: next.value }) },
      {
        kind: 'good: connection',
        message: (at) => deviceConnected(origin(at), (sequence += 1n)),
      },
    );
  }
  if (rng.chance(0.15)) {
    steps.push({
      kind: 'good: module event (ignored)',
      message: (at) => asModule(deviceConnected(origin(at), 1n), 'edgeAgent'),
    });
  }
  if (rng.chance(0.3)) {
    const which = rng.next();
    steps.push({
      kind: 'good: redelivery',
      message: () => device.sent[Math.floor(which * device.sent.length)]!,
    });
  }
  return steps;
}

function goodCertificate(
  leaf: IssuedLeaf | undefined,
  n: 0 | 1 | 2,
  rng: SeededRandom,
): { kind: string; value: Record<string, unknown> } {
  if (!leaf) {
    const { from, days } = GOOD_VALIDITY[n];
    const validUntil = new Date(Date.parse(from) + days * 86_400_000).toISOString();
    return { kind: 'good: report of dates', value: { validFrom: from, validUntil } };
  }
  const issuing = leaf.pem.slice(leaf.leafPem.length).trim();
  const form = rng.int(0, 2);
  const value: Record<string, unknown> = {
    validFrom: leaf.validFrom,
    validUntil: leaf.validUntil,
    pem: form === 0 ? leaf.pem : leaf.leafPem,
  };
  // The chain as DPS's issuedCertificateChain has it (base64 DER, leaf first), or as PEM. The
  // whole object each time, as the contract asks: a field not sent is removed (null), else the
  // twin's merge patch would keep the last certificate's.
  value['chain'] =
    form === 1 ? [base64Der(leaf.leafPem), base64Der(issuing)] : form === 2 ? [issuing] : null;
  value['thumbprint'] = rng.chance(0.5) ? leaf.sha256 : null;
  return { kind: 'good: report with PEM and chain', value };
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

function base64Der(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
}

/**
 * The same message in another form IoT Hub, Event Hubs or the Functions host may give it: the
 * body as JSON text, a Buffer or a serialized Buffer; the time only as enqueued time (epoch
 * milliseconds, or without a zone); the hub by its host name; one of schema and source left out.
 */
const TRANSPORT_FORMS: readonly [string, (m: RawIotHubMessage) => RawIotHubMessage][] = [
  ['as sent', (m) => m],
  ['body as JSON text', (m) => ({ ...m, body: JSON.stringify(m.body) })],
  ['body as a Buffer', (m) => ({ ...m, body: Buffer.from(JSON.stringify(m.body)) })],
  [
    'body as a serialized Buffer',
    (m) => ({ ...m, body: Buffer.from(JSON.stringify(m.body)).toJSON() }),
  ],
  ['time as epoch milliseconds', (m) => withoutProperty(m, 'operationTimestamp')],
  [
    'time as epoch milliseconds in text',
    (m) => {
      const e = withoutProperty(m, 'operationTimestamp');
      const ms = e.systemProperties['iothub-enqueuedtime'];
      return { ...e, systemProperties: { ...e.systemProperties, 'iothub-enqueuedtime': `${ms}` } };
    },
  ],
  [
    'time as enqueued time without a zone',
    (m) => {
      const e = withoutSystemProperty(
        withoutProperty(m, 'operationTimestamp'),
        'iothub-enqueuedtime',
      );
      return { ...e, enqueuedTimeUtc: e.enqueuedTimeUtc!.replace(/Z$/, '') };
    },
  ],
  [
    'hub by its host name',
    (m) => {
      const hub = `${String(m.properties['hubName']).toUpperCase()}.azure-devices.net`;
      return {
        ...m,
        properties: { ...m.properties, hubName: hub },
        systemProperties: { ...m.systemProperties, 'user-id': hub },
      };
    },
  ],
  ['no message schema', (m) => withoutProperty(m, 'iothub-message-schema')],
  ['no message source', (m) => withoutSystemProperty(m, 'iothub-message-source')],
];

// ---------------------------------------------------------------------------------------------
// Hostile messages

interface HostileContext {
  rng: SeededRandom;
  world: HostileWorld;
  at: string;
  /** A device id no other message uses. */
  id: string;
  hub: string;
  /** How many hostile messages came before: orders the fixed hostile devices' reports. */
  n: number;
}

interface HostileCase {
  message: RawIotHubMessage;
  expected: Expectation;
  detail?: string;
}

interface HostileKind {
  kind: string;
  weight: number;
  build(c: HostileContext): HostileCase;
}

const dead = (deadLetter: string, record?: ExpectedRecord): Expectation => ({
  deadLetter,
  ...(record ? { record } : {}),
});
const recorded = (
  c: HostileContext,
  findings: readonly string[],
  more: Partial<ExpectedRecord> = {},
) => ({
  hub: c.hub,
  deviceId: c.id,
  findings,
  ...more,
});
/** A report the ledger rejects: a dead letter, and the device flagged for it. */
const rejectedReport = (c: HostileContext, also: readonly string[] = []): Expectation =>
  dead('invalid-certificate-report', recorded(c, ['invalid-certificate-report', ...also]));
const leak = (c: HostileContext, more: readonly string[] = []) =>
  recorded(c, ['private-key-reported', ...more]);

const from = (c: HostileContext, deviceId = c.id, hub = c.hub): MessageOrigin => ({
  hub,
  deviceId,
  at: c.at,
});
/** A report of a certificate's dates, otherwise fine. */
const report = (c: HostileContext, reported: Record<string, unknown>, version = 7) =>
  twinUpdated(from(c), version, reported);
const withCertificate = (c: HostileContext, certificate: Record<string, unknown>) =>
  report(c, { certificate: { ...METER, ...certificate } });
/** One message of each source for a device: the id checks come before the body is read. */
function anyMessage(c: HostileContext, origin: MessageOrigin): RawIotHubMessage {
  switch (c.rng.int(0, 4)) {
    case 0:
      return deviceConnected(origin, 1n);
    case 1:
      return deviceCreated(origin);
    case 2:
      return deviceDeleted(origin);
    case 3:
      return twinReplaced(origin, 3, { certificate: METER });
    default:
      return twinUpdated(origin, 3, { certificate: METER });
  }
}

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

function withoutProperty(message: RawIotHubMessage, name: string): RawIotHubMessage {
  const { [name]: _gone, ...properties } = message.properties;
  return { ...message, properties };
}

function withoutSystemProperty(message: RawIotHubMessage, name: string): RawIotHubMessage {
  const { [name]: _gone, ...systemProperties } = message.systemProperties;
  return { ...message, systemProperties };
}

function asModule(message: RawIotHubMessage, moduleId: string): RawIotHubMessage {
  return {
    ...message,
    properties: { ...message.properties, moduleId },
    systemProperties: { ...message.systemProperties, 'iothub-connection-module-id': moduleId },
  };
}

/** The message with its body changed by `change` (a deep copy). */
function alteredBody(message: RawIotHubMessage, change: (body: Record<string, unknown>) => void) {
  const body = structuredClone(message.body) as Record<string, unknown>;
  change(body);
  return { ...message, body };
}

/** IoT Hub's rule for a device or module id (AZURE-FACTS.md), as the suite's own oracle. */
function iotHubAllows(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']+$/.test(id);
}

/** `text` with `insert` at a position of the seed's choosing. */
function inserted(rng: SeededRandom, text: string, insert: string): string {
  const at = rng.int(0, text.length);
  return `${text.slice(0, at)}${insert}${text.slice(at)}`;
}

/** An object nested `depth` levels below `leaf`, built without recursion. */
function nested(depth: number, leaf: unknown = 'bottom'): unknown {
  let node: unknown = leaf;
  for (let i = 0; i < depth; i += 1) node = { n: node };
  return node;
}

const escapedJson = (json: string) =>
  json.replace(/PRIVATE/g, '\\u0050RIVATE').replace(/"d":/g, '"\\u0064":');
const cutShort = (key: KeyUnderTest) =>
  key.type === 'JWK' ? key.text.slice(0, -1) : key.text.slice(0, key.text.indexOf('-----END'));

/**
 * Every placement of a private key the suite tries, each with every key type: what certfleet
 * must do is flag the device whose message carried it (`private-key-reported`) whatever else
 * becomes of the message, and keep the key nowhere.
 */
const KEY_PLACEMENTS: readonly {
  name: string;
  build(key: KeyUnderTest, c: HostileContext): HostileCase;
}[] = [
  {
    name: 'the certificate pem',
    build: (key, c) => ({
      message: withCertificate(c, { pem: key.text }),
      expected: rejectedReport(c, ['private-key-reported']),
    }),
  },
  {
    name: 'the certificate pem, with CRLF line ends',
    build: (key, c) => ({
      message: withCertificate(c, { pem: key.text.replace(/\n/g, '\r\n') }),
      expected: rejectedReport(c, ['private-key-reported']),
    }),
  },
  {
    name: 'the certificate pem, after a certificate',
    build: (key, c) => ({
      message: withCertificate(c, { pem: `${NOT_A_CERTIFICATE}${key.text}` }),
      expected: rejectedReport(c, ['private-key-reported']),
    }),
  },
  {
    name: 'key bytes inside a CERTIFICATE label, as the pem',
    build: (key, c) => ({
      message: withCertificate(c, { pem: key.inCertificateLabel }),
      expected: rejectedReport(c, ['private-key-reported']),
    }),
  },
  {
    name: 'the certificate chain',
    build: (key, c) => ({
      message: withCertificate(c, { chain: [key.text] }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the registration id',
    build: (key, c) => ({
      message: withCertificate(c, { registrationId: key.bytes.toString('base64url') }),
      expected: rejectedReport(c, ['private-key-reported']),
    }),
  },
  {
    name: 'a privateKey property',
    build: (key, c) => ({
      message: withCertificate(c, { privateKey: key.value }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: "OpenSSL's traditional form in a backup property",
    build: (key, c) => ({
      message: withCertificate(c, { keyBackup: key.traditional ?? key.text }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'base64 key bytes without armour in a key property',
    build: (key, c) => ({
      message: withCertificate(c, { key: key.bytes.toString('base64') }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'base64url key bytes without padding',
    build: (key, c) => ({
      message: report(c, { secret: key.bytes.toString('base64url') }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'hex key bytes',
    build: (key, c) => ({
      message: report(c, { blob: key.bytes.toString('hex') }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a list of byte values',
    build: (key, c) => ({
      message: report(c, { bytes: [...key.bytes] }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the armoured text, base64-encoded',
    build: (key, c) => ({
      message: report(c, { backup: Buffer.from(key.text).toString('base64') }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a percent-encoded URL',
    build: (key, c) => ({
      message: report(c, {
        upload: `https://backup.contoso.example/?key=${encodeURIComponent(key.text)}`,
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'an armoured block cut short',
    build: (key, c) => ({
      message: report(c, { note: cutShort(key) }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a lowercase label',
    build: (key, c) => ({
      message: report(c, { note: key.text.replace(/PRIVATE KEY/g, 'private key') }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'deep inside the reported properties',
    build: (key, c) => ({
      message: report(c, { diagnostics: nested(20, { inner: [{ ok: true }, key.value] }) }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a property name',
    build: (key, c) => ({
      message: report(c, { installed: { [key.text]: true } }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a string inside a string',
    build: (key, c) => ({
      message: report(c, { config: JSON.stringify({ tls: { key: key.value } }) }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'a string inside a string inside a string',
    build: (key, c) => ({
      message: report(c, {
        config: JSON.stringify({ v: JSON.stringify({ tls: { key: key.value } }) }),
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the certificate subject',
    build: (key, c) => ({
      message: withCertificate(c, { subject: key.text }),
      // What is left of the subject names no CN.
      expected: { record: leak(c, ['common-name-mismatch']) },
    }),
  },
  {
    name: 'JSON text whose label is escaped',
    build: (key, c) => {
      const message = withCertificate(c, { backup: key.text, jwk: key.value });
      return {
        message: { ...message, body: escapedJson(JSON.stringify(message.body)) },
        expected: { record: leak(c) },
      };
    },
  },
  {
    name: 'JSON text whose label is escaped, cut short',
    build: (key, c) => {
      const message = withCertificate(c, { backup: key.text, jwk: key.value });
      const text = escapedJson(JSON.stringify(message.body));
      return {
        message: { ...message, body: text.slice(0, text.length - 20) },
        expected: dead('body-not-json', leak(c)),
      };
    },
  },
  {
    name: 'JSON text whose label is escaped, in a message without a hub',
    build: (key, c) => {
      const message = withoutSystemProperty(
        withoutProperty(withCertificate(c, { backup: key.text }), 'hubName'),
        'user-id',
      );
      return {
        message: { ...message, body: escapedJson(JSON.stringify(message.body)) },
        expected: dead('missing-hub'),
      };
    },
  },
  {
    name: 'a Buffer body',
    build: (key, c) => {
      const message = withCertificate(c, { backup: key.text });
      return {
        message: { ...message, body: Buffer.from(JSON.stringify(message.body)) },
        expected: { record: leak(c) },
      };
    },
  },
  {
    name: "a body in Node's serialized-Buffer form",
    build: (key, c) => {
      const message = withCertificate(c, { backup: key.text });
      return {
        message: { ...message, body: Buffer.from(JSON.stringify(message.body)).toJSON() },
        expected: { record: leak(c) },
      };
    },
  },
  {
    name: "a body that is not JSON, in Node's serialized-Buffer form",
    build: (key, c) => ({
      message: { ...report(c, {}), body: Buffer.from(`key backup\n${key.text}`).toJSON() },
      expected: dead('body-not-json', leak(c)),
    }),
  },
  {
    name: 'a binary body of the key bytes',
    build: (key, c) => ({
      message: { ...report(c, {}), body: key.bytes },
      // A JWK's bytes are JSON: a twin body without reported properties, that leaks a key.
      expected: key.type === 'JWK' ? { record: leak(c) } : dead('body-not-json', leak(c)),
    }),
  },
  {
    name: 'a body of text that is not JSON',
    build: (key, c) => ({
      message: { ...report(c, {}), body: `crash dump follows\n${key.text}\n(end)` },
      expected: dead('body-not-json', leak(c)),
    }),
  },
  {
    name: 'a body over the size limit',
    build: (key, c) => {
      const message = withCertificate(c, { backup: key.text, padding: 'x'.repeat(270_000) });
      return {
        message: { ...message, body: JSON.stringify(message.body) },
        expected: dead('body-too-large', leak(c)),
      };
    },
  },
  {
    name: 'an application property',
    build: (key, c) => {
      const message = withCertificate(c, {});
      return {
        message: { ...message, properties: { ...message.properties, note: key.text } },
        expected: { record: leak(c) },
      };
    },
  },
  {
    name: 'a system property',
    build: (key, c) => {
      const message = withCertificate(c, {});
      const systemProperties = {
        ...message.systemProperties,
        'correlation-id': key.bytes.toString('base64url'),
      };
      return { message: { ...message, systemProperties }, expected: { record: leak(c) } };
    },
  },
  {
    name: 'the device id, armoured',
    build: (key, c) => ({
      message: withIds(withCertificate(c, {}), { deviceId: key.text }),
      expected: dead('invalid-device-id'),
    }),
  },
  {
    name: 'the device id, as base64url key bytes',
    build: (key, c) => {
      const deviceId = key.bytes.toString('base64url');
      return {
        message: withIds(withCertificate(c, {}), { deviceId }),
        // Short enough to be a device id (Ed25519): refused as key material, else as too long.
        expected: dead(iotHubAllows(deviceId) ? 'private-key-in-identity' : 'invalid-device-id'),
      };
    },
  },
  {
    name: 'the hub name',
    build: (key, c) => ({
      message: withIds(withCertificate(c, {}), { hub: key.bytes.toString('base64url') }),
      expected: dead('invalid-hub-name'),
    }),
  },
  {
    name: 'the module id',
    build: (key, c) => {
      const moduleId = key.bytes.toString('base64url');
      return {
        message: asModule(deviceConnected(from(c), 1n), moduleId),
        // Module events are not tracked: one whose id could be a module id leaves nothing.
        expected: iotHubAllows(moduleId) ? {} : dead('invalid-module-id'),
      };
    },
  },
  {
    name: 'the body of a connection event',
    build: (key, c) => ({
      message: alteredBody(deviceConnected(from(c), 1n), (body) => {
        body['diagnostics'] = key.value;
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the body of a deletion',
    build: (key, c) => ({
      message: alteredBody(deviceDeleted(from(c)), (body) => {
        body['tags'] = { note: key.value };
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the reported properties of a creation',
    build: (key, c) => ({
      message: alteredBody(deviceCreated(from(c)), (body) => {
        (body['properties'] as { reported: Record<string, unknown> }).reported['tls'] = key.value;
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the desired properties',
    build: (key, c) => ({
      message: alteredBody(report(c, {}), (body) => {
        body['properties'] = { desired: { bootstrap: key.value, $version: 3 } };
      }),
      expected: { record: leak(c) },
    }),
  },
  {
    name: 'the twin tags of a replaceTwin',
    build: (key, c) => ({
      message: alteredBody(twinReplaced(from(c), 7, { certificate: METER }), (body) => {
        body['tags'] = { note: key.value };
      }),
      expected: { record: leak(c) },
    }),
  },
];

export const KEY_PLACEMENT_NAMES: readonly string[] = KEY_PLACEMENTS.map((p) => p.name);

const FORBIDDEN_CHARACTERS = [
  ' ',
  '/',
  '\\',
  '<',
  '>',
  '&',
  '"',
  '{',
  '}',
  '[',
  ']',
  '|',
  '^',
  '`',
  '~',
  'é',
  'ü',
  'Ω',
  '中',
  '😀',
  '\u200b',
  '\ufeff',
  '\u202e',
  '\u00a0',
  '\uff0f',
];
const CONTROL_CHARACTERS = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001f',
  '\u007f',
  '\u0085',
];
const ANSI_ESCAPES = [
  '\u001b[31m',
  '\u001b[2J',
  '\u001b]0;pwned\u0007',
  '\u001b[1A\u001b[K',
  '\u009b31m',
];
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** Every hostile kind, with how often it comes (relative weights). */
const HOSTILE_KINDS: readonly HostileKind[] = [
  // Ids IoT Hub could not have given.
  {
    kind: 'hostile: device id over 128 characters',
    weight: 3,
    build: (c) => {
      const length = c.rng.chance(0.5) ? c.rng.int(129, 300) : c.rng.pick([1000, 4097, 6000]);
      const deviceId = `${c.id}-${'x'.repeat(length)}`;
      return {
        message: anyMessage(c, from(c, deviceId)),
        expected: dead('invalid-device-id'),
        detail: `${deviceId.length} characters`,
      };
    },
  },
  {
    kind: 'hostile: device id with a character IoT Hub does not allow',
    weight: 3,
    build: (c) => {
      const character = c.rng.pick(FORBIDDEN_CHARACTERS);
      return {
        message: anyMessage(c, from(c, inserted(c.rng, c.id, character))),
        expected: dead('invalid-device-id'),
        detail: `U+${character.codePointAt(0)!.toString(16).padStart(4, '0')}`,
      };
    },
  },
  {
    kind: 'hostile: device id with a lone surrogate',
    weight: 2,
    build: (c) => ({
      message: anyMessage(c, from(c, inserted(c.rng, c.id, c.rng.pick(LONE_SURROGATES)))),
      expected: dead('invalid-device-id'),
    }),
  },
  {
    kind: 'hostile: device id with NUL or a control character',
    weight: 2,
    build: (c) => ({
      message: anyMessage(c, from(c, inserted(c.rng, c.id, c.rng.pick(CONTROL_CHARACTERS)))),
      expected: dead('invalid-device-id'),
    }),
  },
  {
    kind: 'hostile: device id with an ANSI escape',
    weight: 2,
    build: (c) => ({
      message: anyMessage(c, from(c, `${c.rng.pick(ANSI_ESCAPES)}${c.id}\u001b[0m`)),
      expected: dead('invalid-device-id'),
    }),
  },
  {
    kind: 'hostile: colliding ids, hub a/x with device d',
    weight: 1,
    build: (c) => ({
      message: anyMessage(c, from(c, 'd', c.rng.pick(['a/x', 'a%2Fx', 'A/X']))),
      expected: dead('invalid-hub-name'),
    }),
  },
  {
    kind: 'hostile: colliding ids, hub a with device x/d',
    weight: 1,
    build: (c) => ({
      message: anyMessage(c, from(c, c.rng.pick(['x/d', 'x/x%2Fd', '/d', 'x/']), 'a')),
      expected: dead('invalid-device-id'),
    }),
  },
  {
    kind: 'hostile: hub name a hub cannot have',
    weight: 2,
    build: (c) => {
      const hub = c.rng.pick([
        'contoso_hub',
        'contoso.example.com',
        `h${'x'.repeat(63)}`,
        'hub\u0000',
        'hub\u001b[31m',
        'hub\ud800',
        'hub name',
        'hüb',
      ]);
      return { message: anyMessage(c, from(c, c.id, hub)), expected: dead('invalid-hub-name') };
    },
  },
  {
    kind: 'hostile: device id missing or blank',
    weight: 1,
    build: (c) => {
      const blank = c.rng.pick(['', '   ', undefined]);
      let message = anyMessage(c, from(c));
      message = withoutSystemProperty(
        withoutProperty(message, 'deviceId'),
        'iothub-connection-device-id',
      );
      if (blank !== undefined) message = withIds(message, { deviceId: blank });
      return { message, expected: dead('missing-device-id') };
    },
  },
  {
    kind: 'hostile: hub missing',
    weight: 1,
    build: (c) => ({
      message: withoutSystemProperty(withoutProperty(anyMessage(c, from(c)), 'hubName'), 'user-id'),
      expected: dead('missing-hub'),
    }),
  },
  {
    kind: 'hostile: module id IoT Hub could not have given',
    weight: 2,
    build: (c) => {
      const moduleId = c.rng.pick([
        'm'.repeat(129),
        'module/1',
        'module\u0000',
        '\u001b[31mmodule',
        'mod\ud800',
        'modül',
      ]);
      return {
        message: asModule(anyMessage(c, from(c)), moduleId),
        expected: dead('invalid-module-id'),
      };
    },
  },
  // Messages IoT Hub did not write.
  {
    kind: 'hostile: unknown message source',
    weight: 1,
    build: (c) => {
      const source = c.rng.pick([
        'telemetry',
        'customSource',
        'twinChangeEvent',
        'TwinChangeEvents',
      ]);
      const message = anyMessage(c, from(c));
      return {
        message: {
          ...message,
          systemProperties: { ...message.systemProperties, 'iothub-message-source': source },
        },
        expected: dead('unknown-source'),
      };
    },
  },
  {
    kind: 'hostile: iothub-message-schema contradicting the source',
    weight: 2,
    build: (c) => {
      const message = c.rng.chance(0.5) ? withCertificate(c, {}) : deviceConnected(from(c), 1n);
      const schema =
        message.properties['opType'] === 'updateTwin'
          ? c.rng.pick(['deviceLifecycleNotification', 'deviceConnectionStateNotification'])
          : c.rng.pick(['twinChangeNotification', 'deviceLifecycleNotification']);
      return {
        message: {
          ...message,
          properties: { ...message.properties, 'iothub-message-schema': schema },
        },
        expected: dead('unknown-source'),
      };
    },
  },
  {
    kind: 'hostile: iothub-message-schema IoT Hub does not send',
    weight: 1,
    build: (c) => {
      const message = anyMessage(c, from(c));
      const schema = c.rng.pick(['evilNotification', '__proto__', 'constructor', 'toString']);
      return {
        message: {
          ...message,
          properties: { ...message.properties, 'iothub-message-schema': schema },
        },
        expected: dead('unknown-source'),
      };
    },
  },
  {
    kind: 'hostile: opType contradicting the source, or unknown, or missing',
    weight: 2,
    build: (c) => {
      const message = anyMessage(c, from(c));
      const source = message.systemProperties['iothub-message-source'];
      const opType = c.rng.pick([
        source === 'twinChangeEvents' ? 'deviceConnected' : 'updateTwin',
        'deleteTwin',
        '__proto__',
        'hasOwnProperty',
        undefined,
      ]);
      const changed =
        opType === undefined
          ? withoutProperty(message, 'opType')
          : { ...message, properties: { ...message.properties, opType } };
      return { message: changed, expected: dead('unknown-source'), detail: String(opType) };
    },
  },
  // Time.
  {
    kind: 'hostile: no timestamp at all',
    weight: 1,
    build: (c) => {
      const message = withoutSystemProperty(
        withoutProperty(anyMessage(c, from(c)), 'operationTimestamp'),
        'iothub-enqueuedtime',
      );
      const { enqueuedTimeUtc: _gone, ...rest } = message;
      return { message: rest, expected: dead('missing-timestamp') };
    },
  },
  {
    kind: 'hostile: timestamps that are not times',
    weight: 2,
    build: (c) => {
      const message = anyMessage(c, from(c));
      const operationTimestamp = c.rng.pick([
        'yesterday',
        '2026-11-02T01:00:00', // no zone: ambiguous for an operation's time
        '10000-01-01T00:00:00Z',
        '2026-02-30T00:00:00Z',
        '+275760-09-13T00:00:00Z',
        '',
      ]);
      const enqueued = c.rng.pick([-1, 1e20, Number.NaN, 'NaN', 'soon', '99999999999999999']);
      const { enqueuedTimeUtc: _gone, ...rest } = message;
      return {
        message: {
          ...rest,
          properties: { ...message.properties, operationTimestamp },
          systemProperties: { ...message.systemProperties, 'iothub-enqueuedtime': enqueued },
        },
        expected: dead('missing-timestamp'),
        detail: `${operationTimestamp} / ${String(enqueued)}`,
      };
    },
  },
  {
    kind: 'hostile: reported in the year 9999',
    weight: 1,
    build: (c) => {
      const message = withCertificate(c, {});
      return {
        message: {
          ...message,
          properties: { ...message.properties, operationTimestamp: '9999-12-31T23:59:59.999Z' },
        },
        expected: { record: recorded(c, ['expired-when-reported']) },
      };
    },
  },
  {
    kind: 'hostile: reported in the year 0001',
    weight: 1,
    build: (c) => {
      const message = withCertificate(c, {});
      return {
        message: {
          ...message,
          properties: { ...message.properties, operationTimestamp: '0001-01-01T00:00:00Z' },
        },
        expected: { record: recorded(c, ['not-yet-valid-when-reported']) },
      };
    },
  },
  // Bodies.
  {
    kind: 'hostile: body that is not JSON',
    weight: 3,
    build: (c) => {
      const message = anyMessage(c, from(c));
      const body = c.rng.pick<unknown>([
        '',
        'not json',
        '{"properties": ',
        "{'single': 'quotes'}",
        'NaN',
        '\ufeff{bad',
        '{"a":1}{"b":2}',
        Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x80, 0x81]),
        Buffer.from('<xml/>').toJSON(),
      ]);
      return { message: { ...message, body }, expected: dead('body-not-json') };
    },
  },
  {
    kind: 'hostile: body over 256 KB',
    weight: 0.4,
    build: (c) => {
      const message = withCertificate(c, { padding: 'p'.repeat(c.rng.int(262_145, 400_000)) });
      const form = c.rng.int(0, 2);
      const text = JSON.stringify(message.body);
      const body = form === 0 ? text : form === 1 ? Buffer.from(text) : message.body;
      return { message: { ...message, body }, expected: dead('body-too-large') };
    },
  },
  {
    kind: 'hostile: body nested deeper than 64 levels',
    weight: 1.5,
    build: (c) => {
      const depth = c.rng.pick([66, 100, 1000, 20_000]);
      const message = report(c, { certificate: METER, deep: nested(depth) });
      // As parsed JSON (how the Functions host hands it over), or as JSON text.
      const asText = c.rng.chance(0.5) && depth <= 1000;
      const text = asText
        ? '{"properties":{"reported":{"$version":7,"deep":' +
          '['.repeat(depth) +
          ']'.repeat(depth) +
          '}}}'
        : undefined;
      return {
        message: { ...message, body: text ?? message.body },
        expected: dead('malformed-body'),
        detail: `${depth} levels${asText ? ', as text' : ''}`,
      };
    },
  },
  {
    kind: 'hostile: body of the wrong type',
    weight: 2,
    build: (c) => {
      const message = c.rng.chance(0.5) ? withCertificate(c, {}) : deviceConnected(from(c), 1n);
      const body = c.rng.pick<unknown>([
        '[1,2,3]',
        '"a string"',
        '42',
        'null',
        'true',
        [{ properties: {} }],
        null,
        undefined,
        JSON.stringify(Array.from({ length: 40_000 }, (_, i) => i % 256)),
      ]);
      return { message: { ...message, body }, expected: dead('malformed-body') };
    },
  },
  {
    kind: 'hostile: reported properties or $version of the wrong type',
    weight: 2,
    build: (c) => {
      const message = withCertificate(c, {});
      const change = c.rng.int(0, 5);
      return {
        message: alteredBody(message, (body) => {
          const properties = body['properties'] as Record<string, unknown>;
          const reported = properties['reported'] as Record<string, unknown>;
          if (change === 0) properties['reported'] = [reported];
          else if (change === 1) properties['reported'] = 'reported';
          else reported['$version'] = ['7', -1, 1.5, 2 ** 60][change - 2];
        }),
        expected: dead('malformed-body'),
        detail: `change ${change}`,
      };
    },
  },
  {
    kind: 'hostile: connection body without a hex sequence number',
    weight: 1,
    build: (c) => {
      const sequenceNumber = c.rng.pick<unknown>([5, 'zz', '', 'f'.repeat(65), null, { hex: 'a' }]);
      return {
        message: alteredBody(deviceConnected(from(c), 1n), (body) => {
          body['sequenceNumber'] = sequenceNumber;
        }),
        expected: dead('malformed-body'),
      };
    },
  },
  {
    kind: 'hostile: serialized Buffer whose data are not bytes',
    weight: 0.5,
    build: (c) => ({
      message: {
        ...deviceConnected(from(c), 1n),
        body: { type: 'Buffer', data: [300, -1, 'x', 1.5] },
      },
      // Read as the Buffer it claims to be (Buffer.from coerces each value): not JSON.
      expected: dead('body-not-json'),
    }),
  },
  // Certificate reports the ledger must refuse.
  {
    kind: 'hostile: certificate of the wrong type',
    weight: 1,
    build: (c) => ({
      message: report(c, { certificate: c.rng.pick<unknown>(['a string', 42, [METER], true]) }),
      expected: rejectedReport(c),
    }),
  },
  {
    kind: 'hostile: certificate field of the wrong type or form',
    weight: 2,
    build: (c) => {
      const fields = c.rng.pick<Record<string, unknown>>([
        { validFrom: Date.parse(METER.validFrom) },
        { validUntil: { date: METER.validUntil } },
        { thumbprint: 'not hex at all' },
        { thumbprint: 'AB'.repeat(21) },
        { serialNumber: 'xyz' },
        { chain: 'not an array' },
        { chain: [42] },
        { chain: [''] },
        { pem: 42 },
        { registrationId: 'not a registration id!' },
        { registrationId: '\u001b[31mroot\u001b[0m' },
      ]);
      return {
        message: withCertificate(c, fields),
        expected: rejectedReport(c),
        detail: Object.keys(fields)[0],
      };
    },
  },
  {
    kind: 'hostile: report without its $version',
    weight: 1,
    build: (c) => ({
      message: alteredBody(withCertificate(c, {}), (body) => {
        const reported = (body['properties'] as { reported: Record<string, unknown> }).reported;
        delete reported['$version'];
      }),
      expected: rejectedReport(c),
    }),
  },
  {
    kind: 'hostile: pem that does not parse',
    weight: 2,
    build: (c) => {
      const real = c.world.leaves.get(pemDeviceId(0))![0]!.leafPem;
      const lines = real.split('\n');
      const pem = c.rng.pick([
        NOT_A_CERTIFICATE,
        'hello',
        `-----BEGIN CERTIFICATE-----\n${Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)).toString('base64')}\n-----END CERTIFICATE-----\n`,
        [...lines.slice(0, 4), ...lines.slice(-2)].join('\n'),
        real
          .replace(/-----BEGIN CERTIFICATE-----/, '-----BEGIN PUBLIC KEY-----')
          .replace(/END CERTIFICATE/, 'END PUBLIC KEY'),
        '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      ]);
      return { message: withCertificate(c, { pem }), expected: rejectedReport(c) };
    },
  },
  {
    kind: 'hostile: chain that does not parse',
    weight: 1,
    build: (c) => {
      const leaf = c.world.rogueLeaves[0]!;
      return {
        message: withCertificate(c, {
          validFrom: leaf.validFrom,
          validUntil: leaf.validUntil,
          pem: leaf.leafPem,
          chain: [c.rng.pick(['bm90IGRlcg==', NOT_A_CERTIFICATE, '!!!not base64!!!'])],
        }),
        expected: rejectedReport(c),
      };
    },
  },
  {
    kind: 'hostile: pem whose notAfter is before its notBefore',
    weight: 1,
    build: (c) => ({
      message: withCertificate(c, { pem: c.world.backwards.leafPem }),
      expected: rejectedReport(c),
    }),
  },
  {
    kind: 'hostile: reported validUntil not after validFrom',
    weight: 1,
    build: (c) => {
      const validUntil = c.rng.pick([
        '2026-10-01T00:00:00Z',
        METER.validFrom,
        '2026-11-01T01:00:00+01:00',
      ]);
      return {
        message: withCertificate(c, { validUntil }),
        expected: rejectedReport(c),
        detail: validUntil,
      };
    },
  },
  {
    kind: 'hostile: reported dates past the year 9999 or unreadable',
    weight: 2,
    build: (c) => {
      const validUntil = c.rng.pick([
        '10000-01-01T00:00:00Z',
        '+010000-01-01T00:00:00Z',
        '9999-12-31T23:59:60Z',
        '2026-02-30T00:00:00Z',
        '2026-12-01T00:00:00', // no zone
        'tomorrow',
        '',
      ]);
      return {
        message: withCertificate(c, { validUntil }),
        expected: rejectedReport(c),
        detail: validUntil,
      };
    },
  },
  {
    kind: 'hostile: reported dates in the year 0001',
    weight: 1,
    build: (c) => ({
      message: withCertificate(c, {
        validFrom: '0001-01-01T00:00:00Z',
        validUntil: '0001-12-31T23:59:59Z',
      }),
      expected: {
        record: recorded(c, ['expired-when-reported'], {
          current: { validFrom: '0001-01-01T00:00:00.000Z' },
        }),
      },
    }),
  },
  {
    kind: 'hostile: string over 4 KB in the certificate',
    weight: 1.5,
    build: (c) => {
      const fields = c.rng.pick<Record<string, unknown>>([
        { pem: `${NOT_A_CERTIFICATE}${'A'.repeat(4096)}` },
        { chain: ['B'.repeat(4097)] },
        { issuer: `CN=${'i'.repeat(5000)}` },
        { subject: `CN=${'s'.repeat(2100)}` },
        { thumbprint: 'A'.repeat(8192) },
      ]);
      return {
        message: withCertificate(c, fields),
        expected: rejectedReport(c),
        detail: Object.keys(fields)[0],
      };
    },
  },
  {
    kind: 'hostile: huge array in the certificate',
    weight: 1,
    build: (c) => {
      const length = c.rng.pick([9, 1000, 20_000]);
      return {
        message: withCertificate(c, { chain: Array.from({ length }, (_, i) => `c${i}`) }),
        expected: rejectedReport(c),
        detail: `${length} entries`,
      };
    },
  },
  // Certificates the ledger records, with what is wrong with them.
  {
    kind: 'hostile: chain that does not verify to the trust bundle',
    weight: 2,
    build: (c) => {
      const i = c.n % ROGUE_DEVICES;
      const leaf = c.world.rogueLeaves[i]!;
      const deviceId = `h-rogue-${i}`;
      const rogueIssuing = leaf.pem.slice(leaf.leafPem.length).trim();
      return {
        message: twinUpdated(from(c, deviceId), 10 + c.n, {
          certificate: {
            validFrom: leaf.validFrom,
            validUntil: leaf.validUntil,
            pem: leaf.leafPem,
            chain: [rogueIssuing],
          },
        }),
        expected: { record: { hub: c.hub, deviceId, findings: ['chain-untrusted'] } },
      };
    },
  },
  {
    kind: 'hostile: certificate of another device',
    weight: 2,
    build: (c) => {
      const leaf = c.rng.pick([...c.world.leaves.values()])[0]!;
      return {
        message: withCertificate(c, {
          validFrom: leaf.validFrom,
          validUntil: leaf.validUntil,
          pem: leaf.leafPem,
        }),
        expected: {
          record: recorded(c, ['common-name-mismatch'], { withoutFindings: ['chain-untrusted'] }),
        },
      };
    },
  },
  {
    kind: 'hostile: untrusted chain with the CN of another device',
    weight: 2,
    build: (c) => {
      const leaf = c.rng.pick(c.world.rogueImpostors);
      const rogueIssuing = leaf.pem.slice(leaf.leafPem.length).trim();
      return {
        message: withCertificate(c, {
          validFrom: leaf.validFrom,
          validUntil: leaf.validUntil,
          pem: leaf.leafPem,
          chain: [rogueIssuing],
        }),
        expected: { record: recorded(c, ['chain-untrusted', 'common-name-mismatch']) },
      };
    },
  },
  {
    kind: 'hostile: reported subject of another device',
    weight: 1,
    build: (c) => ({
      message: withCertificate(c, { subject: `CN=${pemDeviceId(c.rng.int(0, PEM_DEVICES - 1))}` }),
      expected: { record: recorded(c, ['common-name-mismatch']) },
    }),
  },
  {
    kind: 'hostile: pem valid from the year 0001',
    weight: 1,
    build: (c) => ({
      message: twinUpdated(from(c, c.world.yearOne.deviceId), 10 + c.n, {
        certificate: {
          validFrom: '0001-01-01T00:00:00Z',
          validUntil: '2051-01-02T00:00:00Z',
          pem: c.world.yearOne.pem,
        },
      }),
      expected: {
        record: {
          hub: c.hub,
          deviceId: c.world.yearOne.deviceId,
          findings: [],
          withoutFindings: [
            'invalid-certificate-report',
            'reported-field-mismatch',
            'chain-untrusted',
          ],
          current: { validFrom: '0001-01-01T00:00:00.000Z' },
        },
      },
    }),
  },
  {
    kind: 'hostile: pem with a negative serial, reported as -5',
    weight: 1,
    build: (c) => {
      const { deviceId, pem, validFrom, validUntil } = c.world.negativeSerial;
      return {
        message: twinUpdated(from(c, deviceId), 10 + c.n, {
          certificate: { validFrom, validUntil, pem, serialNumber: '-5' },
        }),
        expected: {
          record: {
            hub: c.hub,
            deviceId,
            findings: [],
            withoutFindings: [
              'invalid-certificate-report',
              'reported-field-mismatch',
              'chain-untrusted',
            ],
            current: { serialNumber: '-5' },
          },
        },
      };
    },
  },
  // Keys and characters that are data, not instructions.
  {
    kind: 'hostile: prototype-pollution keys',
    weight: 2,
    build: (c) => {
      const variant = c.rng.int(0, 3);
      const certificate = JSON.stringify(METER).slice(0, -1);
      const reported = [
        `{"certificate":${certificate},"__proto__":{"pem":"x","polluted":"yes"}},"$version":7}`,
        `{"certificate":${certificate},"constructor":{"prototype":{"polluted":"yes"}}},"$version":7}`,
        `{"__proto__":{"polluted":"yes","$version":99},"certificate":${certificate}},"$version":7}`,
        `{"certificate":${certificate},"hasOwnProperty":"no","toString":"no","valueOf":1},"$version":7}`,
      ][variant];
      const opType = c.rng.chance(0.5) ? 'updateTwin' : 'replaceTwin';
      const base =
        opType === 'updateTwin'
          ? withCertificate(c, {})
          : twinReplaced(from(c), 7, { certificate: METER });
      return {
        message: {
          ...base,
          body: `{"__proto__":{"polluted":"yes"},"version":8,"properties":{"reported":${reported}}}`,
        },
        // Names like any other: the report's own fields are recorded, nothing else.
        expected: {
          record: recorded(c, [], {
            withoutFindings: ['invalid-certificate-report', 'reported-field-mismatch'],
            current: { validFrom: '2026-11-01T00:00:00.000Z' },
          }),
        },
        detail: `${opType}, variant ${variant}`,
      };
    },
  },
  {
    kind: 'hostile: NUL, control characters, ANSI escapes and lone surrogates in values',
    weight: 2,
    build: (c) => {
      const nasty = [...CONTROL_CHARACTERS, ...ANSI_ESCAPES, ...LONE_SURROGATES].join('');
      const message = withCertificate(c, {
        issuer: `CN=Evil${c.rng.pick([nasty, '\u0000', '\u001b[2J', '\ud800'])}CA`,
      });
      return {
        message: alteredBody(message, (body) => {
          const reported = (body['properties'] as { reported: Record<string, unknown> }).reported;
          reported['status'] = nasty;
          reported[`key${nasty}`] = 'value';
        }),
        expected: { record: recorded(c, [], { withoutFindings: ['invalid-certificate-report'] }) },
      };
    },
  },
  {
    kind: 'hostile: strings over 4 KB and huge arrays beside the certificate',
    weight: 1,
    build: (c) => ({
      message: report(c, {
        certificate: METER,
        notes: 'n'.repeat(c.rng.int(4097, 20_000)),
        samples: Array.from({ length: c.rng.pick([10_000, 30_000]) }, (_, i) => i % 256),
        words: Array.from({ length: 5000 }, (_, i) => `w${i}`),
      }),
      expected: { record: recorded(c, [], { withoutFindings: ['invalid-certificate-report'] }) },
    }),
  },
];

export const HOSTILE_KIND_NAMES: readonly string[] = [
  ...HOSTILE_KINDS.map((k) => k.kind),
  'hostile: private key',
  'hostile: redelivery of a bad message',
];

/**
 * The stream: `count` messages, `goodShare` of them (about) from good devices, the rest hostile.
 * Every key placement is tried with every key type before any is tried twice.
 */
export function hostileEventStream(
  world: HostileWorld,
  options: { seed: number; count: number; goodShare?: number },
): StreamEvent[] {
  const rng = new SeededRandom(options.seed);
  const goodShare = options.goodShare ?? 0.45;
  const devices = goodDevices(world, rng, Math.round(options.count * goodShare));
  const active = [...devices];
  const keyCases = KEY_PLACEMENTS.flatMap((placement) =>
    world.keys.map((key) => ({ placement, key })),
  );
  const keyStart = rng.int(0, keyCases.length - 1);
  const totalWeight = HOSTILE_KINDS.reduce((sum, k) => sum + k.weight, 0);
  const KEY_SHARE = 0.22;
  const REDELIVERY_SHARE = 0.03;
  const bad: StreamEvent[] = [];
  const stream: StreamEvent[] = [];
  let n = 0;
  let keyCasesTried = 0;
  for (let i = 0; i < options.count; i += 1) {
    const at = new Date(Date.parse(STREAM_START) + i * 1000).toISOString();
    if (active.length > 0 && rng.chance(goodShare)) {
      const index = rng.int(0, active.length - 1);
      const device = active[index]!;
      const step = device.steps.shift()!;
      if (device.steps.length === 0) active.splice(index, 1);
      const sent = step.message(at);
      const redelivery = device.sent.includes(sent);
      const [form, change] = redelivery ? TRANSPORT_FORMS[0]! : rng.pick(TRANSPORT_FORMS);
      const message = change(sent);
      device.sent.push(message);
      stream.push({ kind: step.kind, detail: form, good: true, message, expected: {} });
      continue;
    }
    n += 1;
    const c: HostileContext = {
      rng,
      world,
      at,
      id: `h-${String(n).padStart(5, '0')}`,
      hub: rng.pick(GOOD_HUBS),
      n,
    };
    const roll = rng.next();
    let event: StreamEvent;
    if (roll < REDELIVERY_SHARE && bad.length > 0) {
      const original = rng.pick(bad);
      event = { ...original, kind: 'hostile: redelivery of a bad message', detail: original.kind };
    } else if (roll < REDELIVERY_SHARE + KEY_SHARE) {
      const { placement, key } = keyCases[(keyStart + keyCasesTried) % keyCases.length]!;
      keyCasesTried += 1;
      const built = placement.build(key, c);
      event = {
        kind: 'hostile: private key',
        detail: `${placement.name} (${key.type})`,
        good: false,
        ...built,
      };
    } else {
      let pick = rng.next() * totalWeight;
      const kind = HOSTILE_KINDS.find((k) => (pick -= k.weight) < 0) ?? HOSTILE_KINDS[0]!;
      const built = kind.build(c);
      event = { kind: kind.kind, good: false, ...built };
    }
    bad.push(event);
    stream.push(event);
  }
  return stream;
}
