import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { deadLetterOf } from '../../../shared/app/ingest/deadLetterOf';
import { REDACTED } from '../../../shared/domain/PrivateKeyMaterial';
import { twinUpdated } from '../../../shared/local/iotHubMessages';
import { KeyUnderTest, privateKeyOfType } from '../../support/privateKeyForms';

const RECEIVED_AT = '2026-11-23T10:00:05.000Z';
const ORIGIN = { hub: 'contoso-hub', deviceId: 'dev-1', at: '2026-11-23T10:00:00.000Z' };
const REJECTION = { code: 'malformed-body', reason: 'twin body must be a JSON object' };

// Not a real key: redaction finds key material by its PEM armour.
const KEY_BASE64 = 'MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oHzJoIQ0eWQsoAoGCCqGSM49';
const PRIVATE_KEY_PEM = `-----BEGIN PRIVATE KEY-----\n${KEY_BASE64}\n-----END PRIVATE KEY-----`;

const aMessage = (patch: Record<string, unknown> = { firmware: '1.2.3' }): RawIotHubMessage =>
  twinUpdated(ORIGIN, 4, patch);

interface KeptMessage {
  body: unknown;
  properties: Record<string, unknown>;
  systemProperties: Record<string, unknown>;
  enqueuedTimeUtc?: string;
}

const keptOf = (message: RawIotHubMessage) =>
  deadLetterOf(message, REJECTION, RECEIVED_AT).message as KeptMessage;

describe('deadLetterOf', () => {
  describe('its id', () => {
    it('is the same for the same message, so a redelivery overwrites its dead letter', () => {
      const first = deadLetterOf(aMessage(), REJECTION, RECEIVED_AT);
      const again = deadLetterOf(aMessage(), REJECTION, '2026-11-23T11:30:00.000Z');
      expect(again.id).toBe(first.id);
    });

    it('is a 40-digit hex string', () => {
      expect(deadLetterOf(aMessage(), REJECTION, RECEIVED_AT).id).toMatch(/^[0-9a-f]{40}$/);
    });

    it('does not depend on the order of properties', () => {
      const message = aMessage();
      const reordered: RawIotHubMessage = {
        enqueuedTimeUtc: message.enqueuedTimeUtc,
        systemProperties: Object.fromEntries(Object.entries(message.systemProperties).reverse()),
        properties: Object.fromEntries(Object.entries(message.properties).reverse()),
        body: message.body,
      };
      expect(deadLetterOf(reordered, REJECTION, RECEIVED_AT).id).toBe(
        deadLetterOf(message, REJECTION, RECEIVED_AT).id,
      );
    });

    it('is the same for a body delivered as a Buffer or as the same text', () => {
      const text = '{"version": 5, "properties": ';
      const asText = { ...aMessage(), body: text };
      const asBuffer = { ...aMessage(), body: Buffer.from(text) };
      expect(deadLetterOf(asBuffer, REJECTION, RECEIVED_AT).id).toBe(
        deadLetterOf(asText, REJECTION, RECEIVED_AT).id,
      );
    });

    it('differs for a different body', () => {
      const a = deadLetterOf(aMessage({ firmware: '1.2.3' }), REJECTION, RECEIVED_AT);
      const b = deadLetterOf(aMessage({ firmware: '1.2.4' }), REJECTION, RECEIVED_AT);
      expect(a.id).not.toBe(b.id);
    });

    it('differs for a different device', () => {
      const a = deadLetterOf(aMessage(), REJECTION, RECEIVED_AT);
      const other = twinUpdated({ ...ORIGIN, deviceId: 'dev-2' }, 4, { firmware: '1.2.3' });
      expect(deadLetterOf(other, REJECTION, RECEIVED_AT).id).not.toBe(a.id);
    });

    it('differs for a different enqueued time', () => {
      const message = aMessage();
      const later = { ...message, enqueuedTimeUtc: '2026-11-23T10:00:01.000Z' };
      expect(deadLetterOf(later, REJECTION, RECEIVED_AT).id).not.toBe(
        deadLetterOf(message, REJECTION, RECEIVED_AT).id,
      );
    });
  });

  describe('what it records', () => {
    it('keeps the rejection, when it was received, and whose message it was', () => {
      const letter = deadLetterOf(
        aMessage(),
        { ...REJECTION, hub: 'contoso-hub', deviceId: 'dev-1' },
        RECEIVED_AT,
      );
      expect(letter).toMatchObject({
        code: 'malformed-body',
        reason: 'twin body must be a JSON object',
        receivedAt: RECEIVED_AT,
        hub: 'contoso-hub',
        deviceId: 'dev-1',
      });
    });

    it('leaves out hub and device when the rejection does not know them', () => {
      const letter = deadLetterOf(aMessage(), REJECTION, RECEIVED_AT);
      expect(letter).not.toHaveProperty('hub');
      expect(letter).not.toHaveProperty('deviceId');
    });

    it('keeps the message as received: body, both property bags and the enqueued time', () => {
      const message = aMessage();
      expect(keptOf(message)).toEqual({
        body: message.body,
        properties: message.properties,
        systemProperties: message.systemProperties,
        enqueuedTimeUtc: message.enqueuedTimeUtc,
      });
    });

    it('keeps a missing body as null and missing property bags as empty', () => {
      const bare = { body: undefined } as unknown as RawIotHubMessage;
      expect(keptOf(bare)).toStrictEqual({ body: null, properties: {}, systemProperties: {} });
    });

    it('keeps a message that survives JSON, whatever its body was', () => {
      const letter = deadLetterOf(
        { ...aMessage(), body: Buffer.from([0xff, 0xfe, 0x01]) },
        REJECTION,
        RECEIVED_AT,
      );
      expect(JSON.parse(JSON.stringify(letter))).toEqual(letter);
    });
  });

  describe('Buffer bodies', () => {
    it('keeps a UTF-8 Buffer body as its text', () => {
      expect(keptOf({ ...aMessage(), body: Buffer.from('{"sequenceNumber": "0A"}') }).body).toBe(
        '{"sequenceNumber": "0A"}',
      );
    });

    it('keeps a Buffer body that is not UTF-8 as base64', () => {
      const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
      expect(keptOf({ ...aMessage(), body: bytes }).body).toEqual({
        base64: bytes.toString('base64'),
      });
    });
  });

  describe('private key material', () => {
    it('redacts a private key block from a string body', () => {
      const body = `{"certificate": {"key": "${PRIVATE_KEY_PEM.replace(/\n/g, '\\n')}"}`;
      const letter = deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT);
      expect(JSON.stringify(letter)).not.toContain(KEY_BASE64);
      expect((letter.message as KeptMessage).body).toContain(REDACTED);
    });

    it('redacts a private key nested deep in a parsed body', () => {
      const message = aMessage({ certificate: { chain: ['MIIB', { pem: PRIVATE_KEY_PEM }] } });
      const letter = deadLetterOf(message, REJECTION, RECEIVED_AT);
      expect(JSON.stringify(letter)).not.toContain(KEY_BASE64);
      expect(JSON.stringify(letter)).toContain(REDACTED);
    });

    it('redacts a property named like key material, whatever it holds', () => {
      const message = aMessage({ certificate: { privateKey: KEY_BASE64 } });
      const kept = keptOf(message);
      expect(JSON.stringify(kept)).not.toContain(KEY_BASE64);
      expect(kept.body).toMatchObject({
        properties: { reported: { certificate: { privateKey: REDACTED } } },
      });
    });

    it('redacts a private key from the application properties', () => {
      const message = aMessage();
      message.properties = { ...message.properties, note: `leaked ${PRIVATE_KEY_PEM}` };
      const kept = keptOf(message);
      expect(kept.properties['note']).toBe(`leaked ${REDACTED}`);
    });

    it('redacts a private key from a UTF-8 Buffer body', () => {
      const letter = deadLetterOf(
        { ...aMessage(), body: Buffer.from(`{"pem": "${PRIVATE_KEY_PEM}"}`) },
        REJECTION,
        RECEIVED_AT,
      );
      expect(JSON.stringify(letter)).not.toContain(KEY_BASE64);
    });

    it('does not keep a private key in a Buffer body that is not valid UTF-8, even as base64', () => {
      const bytes = Buffer.concat([Buffer.from([0xff, 0x0a]), Buffer.from(PRIVATE_KEY_PEM)]);
      const letter = deadLetterOf({ ...aMessage(), body: bytes }, REJECTION, RECEIVED_AT);
      const stored = JSON.stringify(letter);
      expect((letter.message as KeptMessage).body).toEqual(expect.stringContaining(REDACTED));
      expect(stored).not.toContain(KEY_BASE64);
      expect(stored).not.toContain(bytes.toString('base64').slice(8, 60));
    });

    it('redacts a private key from a huge body before cutting it', () => {
      const body = `${PRIVATE_KEY_PEM}${'x'.repeat(100_000)}`;
      const letter = deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT);
      expect(JSON.stringify(letter)).not.toContain(KEY_BASE64);
    });
  });

  describe('huge bodies', () => {
    it('cuts a body over 64 KiB of JSON to its head and says how long it was', () => {
      const body = 'x'.repeat(100_000);
      const kept = keptOf({ ...aMessage(), body }).body as {
        truncated: boolean;
        chars: number;
        head: string;
      };
      expect(kept.truncated).toBe(true);
      expect(kept.chars).toBe(JSON.stringify(body).length);
      expect(kept.head).toHaveLength(64 * 1024);
      expect(kept.head).toBe(JSON.stringify(body).slice(0, 64 * 1024));
    });

    it('cuts a huge parsed body too', () => {
      const message = aMessage({ log: Array.from({ length: 20_000 }, (_, i) => `line ${i}`) });
      expect(keptOf(message).body).toMatchObject({ truncated: true });
    });

    it('keeps a body just under the limit whole', () => {
      const body = 'x'.repeat(64 * 1024 - 2); // 64 KiB once quoted as JSON
      expect(keptOf({ ...aMessage(), body }).body).toBe(body);
    });

    it('gives a huge message the same id on every delivery', () => {
      const body = 'y'.repeat(100_000);
      expect(deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT).id).toBe(
        deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT).id,
      );
    });

    it('gives two huge messages that differ only past the cut different ids', () => {
      const head = 'z'.repeat(100_000);
      expect(deadLetterOf({ ...aMessage(), body: `${head}a` }, REJECTION, RECEIVED_AT).id).not.toBe(
        deadLetterOf({ ...aMessage(), body: `${head}b` }, REJECTION, RECEIVED_AT).id,
      );
    });
  });
});

describe('deadLetterOf on hostile input', () => {
  it('keeps a dead letter of a body nested 60,000 levels deep, cut where it is too deep', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 60_000; i += 1) deep = [deep];
    const letter = deadLetterOf(
      { body: { properties: { reported: { x: deep } } }, properties: {}, systemProperties: {} },
      { code: 'malformed-body', reason: 'too deep' },
      '2026-11-23T12:00:00.000Z',
    );

    expect(JSON.stringify(letter.message)).toContain('[REMOVED: nested deeper than 64 levels]');
    expect(letter.id).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('deadLetterOf with private key material in any form', () => {
  const ec = privateKeyOfType('EC P-256');
  const jwk = privateKeyOfType('JWK');

  /** The whole dead letter as it would be stored, and the key's secret in the encodings found. */
  function expectNoKeyIn(letter: unknown, key: KeyUnderTest) {
    const stored = JSON.stringify(letter);
    const decoded = Buffer.from(stored.replace(/[^A-Za-z0-9+/]/g, ''), 'base64').toString('latin1');
    for (const secret of [
      key.secret.toString('base64url').slice(2, 24),
      key.secret.toString('hex').slice(2, 34),
      key.bytes.toString('base64').slice(30, 60),
    ]) {
      expect(stored).not.toContain(secret);
    }
    expect(decoded).not.toContain(key.secret.subarray(4, 20).toString('latin1'));
  }

  const twinWith = (reported: Record<string, unknown>) =>
    JSON.stringify(twinUpdated(ORIGIN, 4, reported).body);

  it("keeps no key from a body in Node's serialized-Buffer form", () => {
    const body = Buffer.from(twinWith({ certificate: { pem: ec.text } })).toJSON();

    const letter = deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT);

    expectNoKeyIn(letter, ec);
    expect(JSON.stringify(letter.message)).toContain(REDACTED);
  });

  it('keeps a serialized-Buffer body without a key as its text, as it keeps a Buffer', () => {
    const body = Buffer.from('{"sequenceNumber": "0A"}').toJSON();

    expect(keptOf({ ...aMessage(), body }).body).toBe('{"sequenceNumber": "0A"}');
  });

  it('does not keep the raw text of a JSON body whose key label is escaped', () => {
    const body = twinWith({ certificate: { pem: ec.text } }).replace(/PRIVATE/g, '\\u0050RIVATE');

    const kept = keptOf({ ...aMessage(), body }).body as string;

    expect(kept).not.toBe(body);
    expectNoKeyIn(kept, ec);
    expect(JSON.parse(kept)).toMatchObject({
      properties: { reported: { certificate: { pem: `${REDACTED}\n` } } },
    });
  });

  it('does not keep the raw text of a body that is not JSON and hides its key in escapes', () => {
    const body = `{"pem": ${JSON.stringify(ec.text).replace(/PRIVATE/g, '\\u0050RIVATE')}`;

    const letter = deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT);

    expectNoKeyIn(letter, ec);
  });

  it('does not keep the DER bytes of a binary body, even as base64', () => {
    const letter = deadLetterOf({ ...aMessage(), body: ec.bytes }, REJECTION, RECEIVED_AT);

    expect((letter.message as KeptMessage).body).toBe(REDACTED);
    expectNoKeyIn(letter, ec);
  });

  it('keeps no JWK private member from a string body', () => {
    const body = twinWith({ tls: JSON.stringify(jwk.value) });

    const letter = deadLetterOf({ ...aMessage(), body }, REJECTION, RECEIVED_AT);

    expectNoKeyIn(letter, jwk);
  });

  it('leaves out a device id that is a key, and keeps no key from the properties', () => {
    const deviceId = ec.bytes.toString('base64url');
    const message = twinUpdated({ ...ORIGIN, deviceId }, 4, { firmware: '1.2.3' });

    const letter = deadLetterOf(
      message,
      { code: 'private-key-in-identity', reason: 'hidden', deviceId, hub: 'contoso-hub' },
      RECEIVED_AT,
    );

    expect(letter).not.toHaveProperty('deviceId');
    expect(letter.hub).toBe('contoso-hub');
    expectNoKeyIn(letter, ec);
  });

  it('keeps no key from the reason', () => {
    const reason = `ledger update failed: entity ${ec.bytes.toString('base64')} refused`;

    const letter = deadLetterOf(aMessage(), { ...REJECTION, reason }, RECEIVED_AT);

    expect(letter.reason).toBe(`ledger update failed: entity ${REDACTED} refused`);
  });
});
