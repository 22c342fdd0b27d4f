import {
  DecodeOptions,
  DecodeResult,
  decodeIotHubMessage,
} from '../../../shared/app/ingest/decodeIotHubMessage';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { deviceConnected, twinUpdated } from '../../../shared/local/iotHubMessages';

/**
 * Ids are checked against IoT Hub's rules (shared/domain/DeviceKey.ts) before anything is
 * decided or stored: an event naming a device, module or hub IoT Hub could not have named is
 * rejected with the reason, and its id is not repeated beside it.
 */
const OPTIONS: DecodeOptions = { certificatePath: 'certificate', maxBodyBytes: 256 * 1024 };
const AT = '2026-11-23T10:00:00.000Z';

function decode(message: RawIotHubMessage): DecodeResult {
  return decodeIotHubMessage(message, OPTIONS);
}

function reportFrom(hub: string, deviceId: string): RawIotHubMessage {
  return twinUpdated({ hub, deviceId, at: AT }, 2, {
    certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
  });
}

function withModule(message: RawIotHubMessage, moduleId: string): RawIotHubMessage {
  return {
    ...message,
    properties: { ...message.properties, moduleId },
    systemProperties: { ...message.systemProperties, 'iothub-connection-module-id': moduleId },
  };
}

describe('decodeIotHubMessage and device ids', () => {
  it('accepts a 128-character id of every character IoT Hub allows', () => {
    const deviceId = `dev-:.+%_#*?!(),=@;$'${'x'.repeat(107)}`;
    expect(deviceId).toHaveLength(128);
    const result = decode(reportFrom('contoso-hub', deviceId));
    expect(result).toMatchObject({ ok: true, events: [expect.objectContaining({ deviceId })] });
  });

  it('rejects a 1,000-character device id, which no Table key can hold, with the reason', () => {
    const result = decode(reportFrom('contoso-hub', 'x'.repeat(1000)));
    expect(result).toEqual({
      ok: false,
      code: 'invalid-device-id',
      reason: 'device id is 1000 characters, over the 128 IoT Hub allows',
      hub: 'contoso-hub',
    });
  });

  it.each([
    ['a slash', 'x/d', 'device id holds "/" (U+002F) at position 2, which IoT Hub does not allow'],
    ['a newline', 'a\nb', 'device id holds U+000A at position 2, which IoT Hub does not allow'],
    [
      'a lone surrogate',
      'dev\ud800',
      'device id holds a lone surrogate (U+D800) at position 4: not text, and never altered to fit',
    ],
  ])('rejects a device id with %s', (_what, deviceId, reason) => {
    expect(decode(deviceConnected({ hub: 'contoso-hub', deviceId, at: AT }, 5n))).toEqual({
      ok: false,
      code: 'invalid-device-id',
      reason,
      hub: 'contoso-hub',
    });
  });

  it('rejects a module id IoT Hub could not have given, rather than ignoring its event', () => {
    const message = withModule(reportFrom('contoso-hub', 'gateway-1'), 'm'.repeat(200));
    expect(decode(message)).toEqual({
      ok: false,
      code: 'invalid-module-id',
      reason: 'module id is 200 characters, over the 128 IoT Hub allows',
      hub: 'contoso-hub',
      deviceId: 'gateway-1',
    });
  });

  it('still ignores the events of a valid module identity', () => {
    const message = withModule(reportFrom('contoso-hub', 'gateway-1'), 'edgeAgent');
    expect(decode(message)).toEqual({
      ok: true,
      events: [],
      ignored: 'module identity events are not tracked',
    });
  });

  it.each([
    ['a slash', 'a/x', 'hub name holds "/" (U+002F) at position 2, which a hub name cannot'],
    [
      'a lone surrogate',
      'hub\udc00',
      'hub name holds a lone surrogate (U+DC00) at position 4: not text, and never altered to fit',
    ],
  ])('rejects a hub name with %s, keeping the device id beside it', (_what, hub, reason) => {
    expect(decode(reportFrom(hub, 'd'))).toEqual({
      ok: false,
      code: 'invalid-hub-name',
      reason,
      deviceId: 'd',
    });
  });

  it('keeps hub a/x with device d and hub a with device x/d apart: neither becomes an event', () => {
    expect(decode(reportFrom('a/x', 'd'))).toMatchObject({ ok: false, code: 'invalid-hub-name' });
    expect(decode(reportFrom('a', 'x/d'))).toMatchObject({ ok: false, code: 'invalid-device-id' });
  });
});
