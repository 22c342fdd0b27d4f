import {
  DecodeOptions,
  DecodeResult,
  decodeIotHubMessage,
} from '../../../shared/app/ingest/decodeIotHubMessage';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { LedgerEvent, TwinReportEvent } from '../../../shared/domain/LedgerEvent';
import { REDACTED } from '../../../shared/domain/PrivateKeyMaterial';
import {
  MessageOrigin,
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  deviceDisconnected,
  twinReplaced,
  twinUpdated,
} from '../../../shared/local/iotHubMessages';

const OPTIONS: DecodeOptions = { certificatePath: 'certificate', maxBodyBytes: 256 * 1024 };
const AT = '2026-11-23T10:00:00.000Z';
const ORIGIN: MessageOrigin = { hub: 'contoso-hub', deviceId: 'dev-1', at: AT };
const CERTIFICATE = {
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-12-01T00:00:00.000Z',
};

// Not a real key: the decoder finds key material by its PEM armour, whatever the base64 says.
const KEY_BASE64 = 'MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oHzJoIQ0eWQsoAoGCCqGSM49';
const PRIVATE_KEY_PEM = `-----BEGIN EC PRIVATE KEY-----\n${KEY_BASE64}\n-----END EC PRIVATE KEY-----`;

function decode(message: RawIotHubMessage, options: Partial<DecodeOptions> = {}): DecodeResult {
  return decodeIotHubMessage(message, { ...OPTIONS, ...options });
}

function eventsOf(result: DecodeResult): LedgerEvent[] {
  if (!result.ok)
    throw new Error(`expected a decoded message, got ${result.code}: ${result.reason}`);
  return result.events;
}

function onlyEvent(result: DecodeResult): LedgerEvent {
  const events = eventsOf(result);
  expect(events).toHaveLength(1);
  return events[0] as LedgerEvent;
}

/** The message with some properties replaced; a property set to undefined is removed. */
function altered(
  message: RawIotHubMessage,
  change: {
    body?: unknown;
    properties?: Record<string, unknown>;
    systemProperties?: Record<string, unknown>;
    enqueuedTimeUtc?: string | undefined;
  },
): RawIotHubMessage {
  const merge = (base: Record<string, unknown>, patch: Record<string, unknown> = {}) => {
    const out = { ...base, ...patch };
    for (const [name, value] of Object.entries(patch)) if (value === undefined) delete out[name];
    return out;
  };
  const next: RawIotHubMessage = {
    body: 'body' in change ? change.body : message.body,
    properties: merge(message.properties, change.properties),
    systemProperties: merge(message.systemProperties, change.systemProperties),
  };
  const enqueued = 'enqueuedTimeUtc' in change ? change.enqueuedTimeUtc : message.enqueuedTimeUtc;
  if (enqueued !== undefined) next.enqueuedTimeUtc = enqueued;
  return next;
}

const aTwinUpdate = (patch: Record<string, unknown> = { certificate: CERTIFICATE }) =>
  twinUpdated(ORIGIN, 4, patch);

describe('decodeIotHubMessage', () => {
  describe('message bodies', () => {
    const twinBody = {
      version: 5,
      properties: { reported: { certificate: CERTIFICATE, $version: 4 } },
    };
    const expected = {
      kind: 'twin-report',
      complete: false,
      reportedVersion: 4,
      certificate: { present: true, value: CERTIFICATE },
    };

    it('reads a body the trigger has already parsed into an object', () => {
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body: twinBody })));
      expect(event).toMatchObject(expected);
    });

    it('parses a body that arrives as a JSON string', () => {
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body: JSON.stringify(twinBody) })));
      expect(event).toMatchObject(expected);
    });

    it('parses a body that arrives as a Buffer of UTF-8 JSON', () => {
      const body = Buffer.from(JSON.stringify(twinBody), 'utf8');
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body })));
      expect(event).toMatchObject(expected);
    });

    it('parses a Buffer that was serialised to JSON on its way ({type: "Buffer", data})', () => {
      const body = JSON.parse(JSON.stringify(Buffer.from(JSON.stringify(twinBody)))) as unknown;
      expect(body).toMatchObject({ type: 'Buffer' });
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body })));
      expect(event).toMatchObject(expected);
    });

    it('ignores a byte order mark in front of a string body', () => {
      const body = `\uFEFF${JSON.stringify(twinBody)}`;
      expect(onlyEvent(decode(altered(aTwinUpdate(), { body })))).toMatchObject(expected);
    });

    it('ignores a UTF-8 byte order mark in front of a Buffer body', () => {
      const body = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(JSON.stringify(twinBody)),
      ]);
      expect(onlyEvent(decode(altered(aTwinUpdate(), { body })))).toMatchObject(expected);
    });

    it('ignores a byte order mark in a JSON-serialised Buffer body', () => {
      const bytes = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(JSON.stringify(twinBody)),
      ]);
      const body = { type: 'Buffer', data: [...bytes] };
      expect(onlyEvent(decode(altered(aTwinUpdate(), { body })))).toMatchObject(expected);
    });

    it('rejects a body that is not JSON as body-not-json, saying where parsing stopped', () => {
      const result = decode(altered(aTwinUpdate(), { body: '{"properties": {' }));
      expect(result).toMatchObject({ ok: false, code: 'body-not-json', hub: 'contoso-hub' });
      expect(!result.ok && result.reason).toMatch(
        /^body is not JSON: (syntax error at position 16|unexpected end of input)$/,
      );
    });

    it('never quotes the body in the reason, which could carry key material', () => {
      const result = decode(altered(aTwinUpdate(), { body: 'MIGkAgEBBDA secret-looking text' }));
      expect(!result.ok && result.reason).toMatch(/^body is not JSON: syntax error/);
      expect(!result.ok && result.reason).not.toContain('MIGk');
    });

    it('rejects a Buffer body that is not JSON as body-not-json', () => {
      const result = decode(altered(aTwinUpdate(), { body: Buffer.from('temperature=21.5') }));
      expect(result).toMatchObject({ ok: false, code: 'body-not-json', deviceId: 'dev-1' });
    });

    it('rejects an empty string body as body-not-json', () => {
      expect(decode(altered(aTwinUpdate(), { body: '' }))).toMatchObject({
        ok: false,
        code: 'body-not-json',
      });
    });

    it('rejects a string body over the byte limit as body-too-large, naming size and limit', () => {
      const body = JSON.stringify({ properties: { reported: { blob: 'x'.repeat(2000) } } });
      const result = decode(altered(aTwinUpdate(), { body }), { maxBodyBytes: 1024 });
      expect(result).toEqual({
        ok: false,
        code: 'body-too-large',
        reason: `body is ${body.length} bytes, over 1024`,
        hub: 'contoso-hub',
        deviceId: 'dev-1',
      });
    });

    it('rejects a parsed object body whose JSON is over the byte limit as body-too-large', () => {
      const body = { properties: { reported: { blob: 'x'.repeat(2000), $version: 1 } } };
      const result = decode(altered(aTwinUpdate(), { body }), { maxBodyBytes: 1024 });
      expect(result).toMatchObject({ ok: false, code: 'body-too-large' });
      expect(!result.ok && result.reason).toContain('over 1024');
    });

    it('rejects a Buffer body over the byte limit as body-too-large', () => {
      const body = Buffer.from(JSON.stringify({ blob: 'x'.repeat(2000) }));
      expect(decode(altered(aTwinUpdate(), { body }), { maxBodyBytes: 1024 })).toMatchObject({
        ok: false,
        code: 'body-too-large',
      });
    });

    it('counts the limit in UTF-8 bytes, not characters', () => {
      const body = JSON.stringify({ note: 'é'.repeat(600) }); // 600 characters, 1200 bytes
      expect(body.length).toBeLessThan(1024);
      expect(decode(altered(aTwinUpdate(), { body }), { maxBodyBytes: 1024 })).toMatchObject({
        ok: false,
        code: 'body-too-large',
      });
    });

    it('accepts a body exactly at the byte limit', () => {
      const small = JSON.stringify({ properties: { reported: { $version: 4 } } });
      const padded = small + ' '.repeat(1024 - small.length);
      expect(decode(altered(aTwinUpdate(), { body: padded }), { maxBodyBytes: 1024 }).ok).toBe(
        true,
      );
    });
  });

  describe('device and hub', () => {
    it('takes the device id from the iothub-connection-device-id system property first', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-connection-device-id': 'dev-from-system' },
        properties: { deviceId: 'dev-from-application' },
      });
      expect(onlyEvent(decode(message)).deviceId).toBe('dev-from-system');
    });

    it('falls back to the deviceId application property', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-connection-device-id': undefined },
        properties: { deviceId: 'dev-from-application' },
      });
      expect(onlyEvent(decode(message)).deviceId).toBe('dev-from-application');
    });

    it('keeps a device id with the special characters IoT Hub allows as it is', () => {
      const id = "dev+%_#*?!(),:=@$'.-1";
      const message = twinUpdated({ ...ORIGIN, deviceId: id }, 4, { certificate: CERTIFICATE });
      expect(onlyEvent(decode(message)).deviceId).toBe(id);
    });

    it('rejects a message with neither device id property as missing-device-id', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-connection-device-id': undefined },
        properties: { deviceId: undefined },
      });
      expect(decode(message)).toEqual({
        ok: false,
        code: 'missing-device-id',
        reason: 'no iothub-connection-device-id or deviceId property',
        hub: 'contoso-hub',
      });
    });

    it('treats a blank device id as missing', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-connection-device-id': '  ' },
        properties: { deviceId: '' },
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'missing-device-id' });
    });

    it.each([
      ['Contoso-Hub.azure-devices.net', 'contoso-hub'],
      ['CONTOSO-HUB', 'contoso-hub'],
      [' contoso-hub.azure-devices.net ', 'contoso-hub'],
      ['contoso-hub', 'contoso-hub'],
    ])('normalises the hub name %j to %j', (hubName, hub) => {
      const message = altered(aTwinUpdate(), { properties: { hubName } });
      expect(onlyEvent(decode(message)).hub).toBe(hub);
    });

    it('falls back to the user-id system property, which Event Hubs may deliver as bytes', () => {
      const message = altered(aTwinUpdate(), {
        properties: { hubName: undefined },
        systemProperties: { 'user-id': Buffer.from('Fabrikam-Hub.azure-devices.net') },
      });
      expect(onlyEvent(decode(message)).hub).toBe('fabrikam-hub');
    });

    it('rejects a message without hubName or user-id as missing-hub, naming the device', () => {
      const message = altered(aTwinUpdate(), {
        properties: { hubName: undefined },
        systemProperties: { 'user-id': undefined },
      });
      expect(decode(message)).toEqual({
        ok: false,
        code: 'missing-hub',
        reason: 'no hubName property',
        deviceId: 'dev-1',
      });
    });
  });

  describe('event source', () => {
    it('reads the source from iothub-message-source', () => {
      const message = altered(aTwinUpdate(), {
        properties: { 'iothub-message-schema': undefined },
      });
      expect(onlyEvent(decode(message)).kind).toBe('twin-report');
    });

    it('falls back to iothub-message-schema without iothub-message-source', () => {
      const message = altered(deviceConnected(ORIGIN, 7n), {
        systemProperties: { 'iothub-message-source': undefined },
      });
      expect(onlyEvent(decode(message)).kind).toBe('connection');
    });

    it('falls back to the opType alone without source or schema', () => {
      const message = altered(deviceDeleted(ORIGIN), {
        systemProperties: { 'iothub-message-source': undefined },
        properties: { 'iothub-message-schema': undefined },
      });
      expect(onlyEvent(decode(message))).toMatchObject({ kind: 'lifecycle', change: 'deleted' });
    });

    it('rejects an opType that does not belong to iothub-message-source', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-message-source': 'deviceConnectionStateEvents' },
      });
      const result = decode(message);
      expect(result).toMatchObject({
        ok: false,
        code: 'unknown-source',
        hub: 'contoso-hub',
        deviceId: 'dev-1',
      });
      expect(!result.ok && result.reason).toContain('opType updateTwin');
    });

    it('rejects an opType that does not belong to the schema when there is no message source', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-message-source': undefined },
        properties: { 'iothub-message-schema': 'deviceLifecycleNotification' },
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'unknown-source' });
    });

    it('trusts iothub-message-source over the schema when both are present', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-message-source': 'deviceLifecycleEvents' },
        properties: { 'iothub-message-schema': 'twinChangeNotification' },
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'unknown-source' });
    });

    it('rejects a schema that contradicts iothub-message-source, even when the opType fits the source', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-message-source': 'twinChangeEvents' },
        properties: { 'iothub-message-schema': 'deviceLifecycleNotification' },
      });
      expect(decode(message)).toMatchObject({
        ok: false,
        code: 'unknown-source',
        reason: expect.stringContaining(
          'iothub-message-schema deviceLifecycleNotification contradicts iothub-message-source twinChangeEvents',
        ),
      });
    });

    it('rejects a schema IoT Hub does not send next to a known message source', () => {
      const message = altered(aTwinUpdate(), {
        properties: { 'iothub-message-schema': 'telemetryNotification' },
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'unknown-source' });
    });

    it('rejects device telemetry (an unknown message source) as unknown-source', () => {
      const message: RawIotHubMessage = {
        body: { temperature: 21.5 },
        properties: {},
        systemProperties: {
          'iothub-connection-device-id': 'dev-1',
          'iothub-message-source': 'Telemetry',
          'iothub-enqueuedtime': AT,
        },
      };
      const result = decode(message);
      expect(result).toMatchObject({ ok: false, code: 'unknown-source', deviceId: 'dev-1' });
      expect(!result.ok && result.reason).toContain('opType missing');
    });

    it('rejects a known source without an opType as unknown-source', () => {
      const message = altered(aTwinUpdate(), { properties: { opType: undefined } });
      expect(decode(message)).toMatchObject({ ok: false, code: 'unknown-source' });
    });

    it('rejects an opType IoT Hub does not send as unknown-source', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-message-source': undefined },
        properties: { 'iothub-message-schema': undefined, opType: 'patchTwin' },
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'unknown-source' });
    });

    it('ignores module twin events without rejecting them', () => {
      const message = altered(aTwinUpdate(), {
        systemProperties: { 'iothub-connection-module-id': 'edgeAgent' },
        properties: { moduleId: 'edgeAgent' },
      });
      expect(decode(message)).toEqual({
        ok: true,
        events: [],
        ignored: 'module identity events are not tracked',
      });
    });

    it('ignores module lifecycle events identified only by the moduleId application property', () => {
      const message = altered(deviceCreated(ORIGIN), { properties: { moduleId: 'filter' } });
      expect(decode(message)).toMatchObject({ ok: true, events: [] });
    });
  });

  describe('when the operation happened', () => {
    it('takes occurredAt from operationTimestamp', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: '2026-11-23T09:59:58.123Z' },
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T09:59:58.123Z');
    });

    it.each([
      ['2026-11-23T09:59:58Z', '2026-11-23T09:59:58.000Z'],
      ['2026-11-23T09:59:58.1234567Z', '2026-11-23T09:59:58.123Z'],
      ['2026-11-23T11:59:58.5+02:00', '2026-11-23T09:59:58.500Z'],
      ['2026-11-23T04:29:58-05:30', '2026-11-23T09:59:58.000Z'],
    ])('normalises operationTimestamp %j to UTC with milliseconds (%s)', (stamp, occurredAt) => {
      const message = altered(aTwinUpdate(), { properties: { operationTimestamp: stamp } });
      expect(onlyEvent(decode(message)).occurredAt).toBe(occurredAt);
    });

    it('falls back to iothub-enqueuedtime without operationTimestamp', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': '2026-11-23T10:00:01.250Z' },
        enqueuedTimeUtc: '2026-11-23T10:00:02.000Z',
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:01.250Z');
    });

    it('accepts an iothub-enqueuedtime handed over as a Date', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': new Date('2026-11-23T10:00:01.250Z') },
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:01.250Z');
    });

    it("falls back to Event Hubs' enqueuedTimeUtc last", () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': undefined },
        enqueuedTimeUtc: '2026-11-23T10:00:02Z',
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:02.000Z');
    });

    it('skips an iothub-enqueuedtime that is not ISO 8601 (as JavaScript prints dates)', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: {
          'iothub-enqueuedtime': 'Mon Nov 23 2026 10:00:01 GMT+0000 (Coordinated Universal Time)',
        },
        enqueuedTimeUtc: '2026-11-23T10:00:02.000Z',
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:02.000Z');
    });

    it('does not accept a zone-less operationTimestamp and uses the enqueued time instead', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: '2026-11-23T08:00:00.000' },
        systemProperties: { 'iothub-enqueuedtime': '2026-11-23T10:00:01.000Z' },
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:01.000Z');
    });

    it('accepts iothub-enqueuedtime as epoch milliseconds, as the routed-message docs list it', () => {
      for (const enqueued of [1795428001250, '1795428001250']) {
        const message = altered(aTwinUpdate(), {
          properties: { operationTimestamp: undefined },
          systemProperties: { 'iothub-enqueuedtime': enqueued },
          enqueuedTimeUtc: undefined,
        });
        expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:01.250Z');
      }
    });

    it('accepts the zone-less enqueued time the Event Hubs extension gives, as UTC', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': '2026-11-23T10:00:01.2500000' },
      });
      expect(onlyEvent(decode(message)).occurredAt).toBe('2026-11-23T10:00:01.250Z');

      const fromTheBatch = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': undefined },
        enqueuedTimeUtc: '2026-11-23T10:00:02.000',
      });
      expect(onlyEvent(decode(fromTheBatch)).occurredAt).toBe('2026-11-23T10:00:02.000Z');
    });

    it('rejects a message whose only timestamps have no zone as missing-timestamp', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: '2026-11-23T08:00:00' },
        systemProperties: { 'iothub-enqueuedtime': '2026-11-23 10:00:01' },
        enqueuedTimeUtc: '2026-11-23 10:00:02.000',
      });
      expect(decode(message)).toEqual({
        ok: false,
        code: 'missing-timestamp',
        reason: 'no operationTimestamp or enqueued time',
        hub: 'contoso-hub',
        deviceId: 'dev-1',
      });
    });

    it('rejects a message with no timestamp at all as missing-timestamp', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: undefined },
        systemProperties: { 'iothub-enqueuedtime': undefined },
        enqueuedTimeUtc: undefined,
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'missing-timestamp' });
    });

    it('does not accept a date without a time', () => {
      const message = altered(aTwinUpdate(), {
        properties: { operationTimestamp: '2026-11-23' },
        systemProperties: { 'iothub-enqueuedtime': undefined },
        enqueuedTimeUtc: undefined,
      });
      expect(decode(message)).toMatchObject({ ok: false, code: 'missing-timestamp' });
    });
  });

  describe('twin changes and lifecycle', () => {
    it('does not mistake inherited object members for a certificate at the configured path', () => {
      const event = onlyEvent(
        decode(aTwinUpdate({ firmware: '1.0' }), { certificatePath: 'constructor' }),
      ) as TwinReportEvent;
      expect(event.certificate).toEqual({ present: false });
    });

    it('turns updateTwin into an incomplete twin report (a patch) with its reported $version', () => {
      expect(decode(aTwinUpdate())).toEqual({
        ok: true,
        events: [
          {
            kind: 'twin-report',
            hub: 'contoso-hub',
            deviceId: 'dev-1',
            occurredAt: AT,
            opType: 'updateTwin',
            complete: false,
            reportedVersion: 4,
            certificate: { present: true, value: CERTIFICATE },
            privateKeyReported: false,
          },
        ],
      });
    });

    it('turns replaceTwin into a complete twin report (the whole twin)', () => {
      const event = onlyEvent(decode(twinReplaced(ORIGIN, 9, { certificate: CERTIFICATE })));
      expect(event).toMatchObject({
        kind: 'twin-report',
        opType: 'replaceTwin',
        complete: true,
        reportedVersion: 9,
        certificate: { present: true, value: CERTIFICATE },
      });
    });

    it('turns createDeviceIdentity into a created lifecycle event followed by a complete twin report', () => {
      const events = eventsOf(decode(deviceCreated(ORIGIN)));
      expect(events).toEqual([
        {
          kind: 'lifecycle',
          change: 'created',
          hub: 'contoso-hub',
          deviceId: 'dev-1',
          occurredAt: AT,
          opType: 'createDeviceIdentity',
        },
        {
          kind: 'twin-report',
          hub: 'contoso-hub',
          deviceId: 'dev-1',
          occurredAt: AT,
          opType: 'createDeviceIdentity',
          complete: true,
          reportedVersion: 1,
          certificate: { present: false },
          privateKeyReported: false,
        },
      ]);
    });

    it('turns deleteDeviceIdentity into a deleted lifecycle event', () => {
      expect(onlyEvent(decode(deviceDeleted(ORIGIN)))).toEqual({
        kind: 'lifecycle',
        change: 'deleted',
        hub: 'contoso-hub',
        deviceId: 'dev-1',
        occurredAt: AT,
        opType: 'deleteDeviceIdentity',
      });
    });

    it('reports no certificate and no reported version for a desired-only update', () => {
      const body = {
        version: 12,
        properties: { desired: { telemetryInterval: 30, $version: 6 } },
      };
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body })));
      expect(event).toEqual(
        expect.objectContaining({
          kind: 'twin-report',
          complete: false,
          certificate: { present: false },
          privateKeyReported: false,
        }),
      );
      expect((event as TwinReportEvent).reportedVersion).toBeUndefined();
    });

    it('reports no certificate for an update that changed other reported properties', () => {
      const event = onlyEvent(decode(twinUpdated(ORIGIN, 5, { firmware: '1.2.3' })));
      expect(event).toMatchObject({ reportedVersion: 5, certificate: { present: false } });
    });

    it('passes a null certificate on as present, so the patch can remove it', () => {
      const event = onlyEvent(decode(twinUpdated(ORIGIN, 5, { certificate: null })));
      expect(event).toMatchObject({ certificate: { present: true, value: null } });
    });

    it('reads the certificate at a nested path such as security.certificate', () => {
      const message = twinUpdated(ORIGIN, 5, {
        certificate: { validFrom: 'not this one' },
        security: { certificate: CERTIFICATE },
      });
      const event = onlyEvent(decode(message, { certificatePath: 'security.certificate' }));
      expect(event).toMatchObject({ certificate: { present: true, value: CERTIFICATE } });
    });

    it('reports no certificate when the nested path is only partly there', () => {
      const message = twinUpdated(ORIGIN, 5, { security: { tpm: true } });
      const event = onlyEvent(decode(message, { certificatePath: 'security.certificate' }));
      expect(event).toMatchObject({ certificate: { present: false } });
    });

    it('reports no certificate when a parent on the path is not an object', () => {
      const message = twinUpdated(ORIGIN, 5, { security: 'certificate' });
      const event = onlyEvent(decode(message, { certificatePath: 'security.certificate' }));
      expect(event).toMatchObject({ certificate: { present: false } });
    });

    it.each([0, 1, 4_000_000_000])('accepts the reported $version %p', (version) => {
      const body = { properties: { reported: { $version: version } } };
      expect(onlyEvent(decode(altered(aTwinUpdate(), { body })))).toMatchObject({
        reportedVersion: version,
      });
    });

    it.each([-1, 1.5, '4', null, 2 ** 53, Number.NaN])(
      'rejects the reported $version %p as malformed-body',
      (version) => {
        const body = { properties: { reported: { certificate: CERTIFICATE, $version: version } } };
        expect(decode(altered(aTwinUpdate(), { body }))).toEqual({
          ok: false,
          code: 'malformed-body',
          reason: 'properties.reported.$version must be a non-negative integer',
          hub: 'contoso-hub',
          deviceId: 'dev-1',
        });
      },
    );

    it('accepts reported properties without a $version', () => {
      const body = { properties: { reported: { certificate: CERTIFICATE } } };
      const event = onlyEvent(decode(altered(aTwinUpdate(), { body })));
      expect(event).toMatchObject({ certificate: { present: true, value: CERTIFICATE } });
      expect((event as TwinReportEvent).reportedVersion).toBeUndefined();
    });

    it.each([
      ['an array', '[1, 2]'],
      ['a string', '"properties"'],
      ['a number', '42'],
      ['null', 'null'],
    ])('rejects a twin body that is %s as malformed-body', (_what, body) => {
      expect(decode(altered(aTwinUpdate(), { body }))).toMatchObject({
        ok: false,
        code: 'malformed-body',
        reason: 'twin body must be a JSON object',
      });
    });

    it('rejects reported properties that are not an object as malformed-body', () => {
      const body = { properties: { reported: ['certificate'] } };
      expect(decode(altered(aTwinUpdate(), { body }))).toMatchObject({
        ok: false,
        code: 'malformed-body',
        reason: 'properties.reported must be an object',
      });
    });
  });

  describe('private key material', () => {
    it('redacts a private key reported next to the certificate and flags it', () => {
      const message = aTwinUpdate({ certificate: { ...CERTIFICATE, privateKey: PRIVATE_KEY_PEM } });
      const event = onlyEvent(decode(message));
      expect(event).toMatchObject({
        privateKeyReported: true,
        certificate: { present: true, value: { ...CERTIFICATE, privateKey: REDACTED } },
      });
      expect(JSON.stringify(event)).not.toContain(KEY_BASE64);
    });

    it('redacts a private key block embedded in the certificate pem', () => {
      const pem = `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${PRIVATE_KEY_PEM}`;
      const event = onlyEvent(decode(aTwinUpdate({ certificate: { ...CERTIFICATE, pem } })));
      expect(event).toMatchObject({ privateKeyReported: true });
      const value = (event as { certificate: { value: { pem: string } } }).certificate.value;
      expect(value.pem).toBe(
        `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${REDACTED}`,
      );
    });

    it('flags a private key anywhere in the reported properties, even away from the certificate', () => {
      const message = aTwinUpdate({
        certificate: CERTIFICATE,
        diagnostics: { lastBoot: { files: ['boot.log', PRIVATE_KEY_PEM] } },
      });
      const event = onlyEvent(decode(message));
      expect(event).toMatchObject({
        privateKeyReported: true,
        certificate: { present: true, value: CERTIFICATE },
      });
    });

    it('flags a private key in a whole twin from replaceTwin', () => {
      const message = twinReplaced(ORIGIN, 3, { keys: { key_pem: 'MHcCAQEE' } });
      expect(onlyEvent(decode(message))).toMatchObject({ privateKeyReported: true });
    });

    it('does not flag a twin that holds only public material', () => {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
      const message = aTwinUpdate({ certificate: { ...CERTIFICATE, pem }, publicKey: 'MFkw' });
      expect(onlyEvent(decode(message))).toMatchObject({ privateKeyReported: false });
    });
  });

  describe('connection state', () => {
    it('turns deviceConnected into a connection event with a lower-case sequence number', () => {
      const message = altered(deviceConnected(ORIGIN, 1n), {
        body: { sequenceNumber: '000000000000000001D4413E4B5A5A8D00000003' },
      });
      expect(onlyEvent(decode(message))).toEqual({
        kind: 'connection',
        connected: true,
        sequenceNumber: '000000000000000001d4413e4b5a5a8d00000003',
        hub: 'contoso-hub',
        deviceId: 'dev-1',
        occurredAt: AT,
        opType: 'deviceConnected',
      });
    });

    it('turns deviceDisconnected into a disconnected connection event', () => {
      expect(onlyEvent(decode(deviceDisconnected(ORIGIN, 0xabn)))).toMatchObject({
        kind: 'connection',
        connected: false,
        sequenceNumber: expect.stringMatching(/^0+ab$/),
      });
    });

    it.each([
      ['a number', { sequenceNumber: 42 }],
      ['not hex', { sequenceNumber: '00000000000000000g' }],
      ['empty', { sequenceNumber: '' }],
      ['longer than 64 digits', { sequenceNumber: 'a'.repeat(65) }],
      ['missing', { sequence: '01' }],
      ['not an object', ['01']],
    ])('rejects a connection body whose sequenceNumber is %s as malformed-body', (_what, body) => {
      expect(decode(altered(deviceConnected(ORIGIN, 1n), { body }))).toEqual({
        ok: false,
        code: 'malformed-body',
        reason: 'connection-state body needs a hex sequenceNumber',
        hub: 'contoso-hub',
        deviceId: 'dev-1',
      });
    });
  });

  describe('messages written in the shape IoT Hub documents', () => {
    // Routed twin change notification as the Functions host delivers it: application
    // properties from IoT Hub, Event Hubs' x-opt-* and the trigger's own system properties,
    // .NET's 7-digit fractions, and a string body with $metadata as IoT Hub writes it.
    const twinChange: RawIotHubMessage = {
      body:
        '{"version":23,"properties":{"reported":{"certificate":{' +
        '"validFrom":"2026-11-01T00:00:00Z","validUntil":"2026-12-01T00:00:00Z",' +
        '"thumbprint":"4A9C1E35F7D2B8A06C13E5F7092B4D6E8A0C2E4F"},' +
        '"$metadata":{"$lastUpdated":"2026-11-23T10:15:42.1234567Z",' +
        '"certificate":{"$lastUpdated":"2026-11-23T10:15:42.1234567Z","$lastUpdatedVersion":17,' +
        '"validFrom":{"$lastUpdated":"2026-11-23T10:15:42.1234567Z"},' +
        '"validUntil":{"$lastUpdated":"2026-11-23T10:15:42.1234567Z"}}},' +
        '"$version":17}}}',
      properties: {
        hubName: 'contoso-hub',
        deviceId: 'thermostat-0042',
        operationTimestamp: '2026-11-23T10:15:42.1234567Z',
        'iothub-message-schema': 'twinChangeNotification',
        opType: 'updateTwin',
      },
      systemProperties: {
        'x-opt-sequence-number': 1417,
        'x-opt-offset': '4294987744',
        'x-opt-enqueued-time': '2026-11-23T10:15:42.318Z',
        SequenceNumber: 1417,
        Offset: '4294987744',
        PartitionKey: null,
        EnqueuedTimeUtc: '2026-11-23T10:15:42.318Z',
        'iothub-connection-device-id': 'thermostat-0042',
        'iothub-connection-auth-method':
          '{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
        'iothub-connection-auth-generation-id': '638678112345678901',
        'iothub-enqueuedtime': '2026-11-23T10:15:42.318Z',
        'iothub-message-source': 'twinChangeEvents',
        'content-type': 'application/json',
        'content-encoding': 'utf-8',
      },
      enqueuedTimeUtc: '2026-11-23T10:15:42.318Z',
    };

    it('decodes a documented updateTwin notification', () => {
      expect(decode(twinChange)).toEqual({
        ok: true,
        events: [
          {
            kind: 'twin-report',
            hub: 'contoso-hub',
            deviceId: 'thermostat-0042',
            occurredAt: '2026-11-23T10:15:42.123Z',
            opType: 'updateTwin',
            complete: false,
            reportedVersion: 17,
            certificate: {
              present: true,
              value: {
                validFrom: '2026-11-01T00:00:00Z',
                validUntil: '2026-12-01T00:00:00Z',
                thumbprint: '4A9C1E35F7D2B8A06C13E5F7092B4D6E8A0C2E4F',
              },
            },
            privateKeyReported: false,
          },
        ],
      });
    });

    it('decodes a documented createDeviceIdentity notification carrying the whole twin', () => {
      const created: RawIotHubMessage = {
        body: {
          deviceId: 'thermostat-0042',
          etag: 'AAAAAAAAAAE=',
          version: 2,
          status: 'enabled',
          statusUpdateTime: '0001-01-01T00:00:00Z',
          connectionState: 'Disconnected',
          lastActivityTime: '0001-01-01T00:00:00Z',
          cloudToDeviceMessageCount: 0,
          authenticationType: 'selfSigned',
          x509Thumbprint: {
            primaryThumbprint: '4A9C1E35F7D2B8A06C13E5F7092B4D6E8A0C2E4F',
            secondaryThumbprint: null,
          },
          capabilities: { iotEdge: false },
          properties: {
            desired: { $metadata: { $lastUpdated: '2026-11-20T08:00:00.0000000Z' }, $version: 1 },
            reported: { $metadata: { $lastUpdated: '2026-11-20T08:00:00.0000000Z' }, $version: 1 },
          },
        },
        properties: {
          hubName: 'contoso-hub',
          deviceId: 'thermostat-0042',
          operationTimestamp: '2026-11-20T08:00:00.0000000Z',
          'iothub-message-schema': 'deviceLifecycleNotification',
          opType: 'createDeviceIdentity',
        },
        systemProperties: {
          'iothub-connection-device-id': 'thermostat-0042',
          'iothub-enqueuedtime': '2026-11-20T08:00:00.412Z',
          'iothub-message-source': 'deviceLifecycleEvents',
          'content-type': 'application/json',
          'content-encoding': 'utf-8',
        },
      };
      const events = eventsOf(decode(created));
      expect(events.map((e) => e.kind)).toEqual(['lifecycle', 'twin-report']);
      expect(events[1]).toMatchObject({
        occurredAt: '2026-11-20T08:00:00.000Z',
        complete: true,
        reportedVersion: 1,
        certificate: { present: false },
      });
    });

    it('decodes a documented deviceConnected notification with a Buffer body', () => {
      const connected: RawIotHubMessage = {
        body: Buffer.from(
          '{"sequenceNumber":"000000000000000001D4413E4B5A5A8D0000000300000000000000000000000A"}',
        ),
        properties: {
          hubName: 'contoso-hub',
          deviceId: 'thermostat-0042',
          opType: 'deviceConnected',
          'iothub-message-schema': 'deviceConnectionStateNotification',
          operationTimestamp: '2026-11-23T10:16:00.5000000Z',
        },
        systemProperties: {
          'iothub-connection-device-id': 'thermostat-0042',
          'iothub-enqueuedtime': '2026-11-23T10:16:00.731Z',
          'iothub-message-source': 'deviceConnectionStateEvents',
          'content-type': 'application/json',
          'content-encoding': 'utf-8',
        },
      };
      expect(onlyEvent(decode(connected))).toEqual({
        kind: 'connection',
        connected: true,
        sequenceNumber: '000000000000000001d4413e4b5a5a8d0000000300000000000000000000000a',
        hub: 'contoso-hub',
        deviceId: 'thermostat-0042',
        occurredAt: '2026-11-23T10:16:00.500Z',
        opType: 'deviceConnected',
      });
    });
  });

  it('never throws, even for a message missing its property bags', () => {
    const broken = { body: undefined } as unknown as RawIotHubMessage;
    expect(decode(broken)).toMatchObject({ ok: false, code: 'unknown-source' });
  });
});

describe('decodeIotHubMessage on hostile input', () => {
  it('rejects a body nested far deeper than any twin, without exhausting the stack', () => {
    const deep = `{"properties":{"reported":{"x":${'['.repeat(60_000)}${']'.repeat(60_000)}}}}`;
    const result = decodeIotHubMessage({ ...twinUpdated(ORIGIN, 4, {}), body: deep }, OPTIONS);

    expect(result).toMatchObject({
      ok: false,
      code: 'malformed-body',
      reason: 'body is nested deeper than 64 levels',
    });
  });
});
