import fc from 'fast-check';
import {
  deviceIdProblem,
  deviceKeyString,
  hubNameProblem,
  moduleIdProblem,
  normalizeHubName,
} from '../../shared/domain/DeviceKey';

/** Every character IoT Hub has documented for device and module ids besides letters and digits. */
const IOT_HUB_SPECIALS = "-:.+%_#*?!(),=@;$'";

describe('normalizeHubName', () => {
  it('treats the host name and the hub name as one hub', () => {
    expect(normalizeHubName('Contoso-Hub.azure-devices.net')).toBe('contoso-hub');
    expect(normalizeHubName(' contoso-hub ')).toBe('contoso-hub');
  });

  it('keeps a name that only contains the suffix elsewhere', () => {
    expect(normalizeHubName('azure-devices.net-hub')).toBe('azure-devices.net-hub');
  });
});

describe('deviceKeyString', () => {
  it('names a device by its hub and id', () => {
    expect(deviceKeyString({ hub: 'contoso-hub', deviceId: 'thermostat-0001' })).toBe(
      'contoso-hub/thermostat-0001',
    );
  });

  it('keeps hub a/x with device d apart from hub a with device x/d', () => {
    expect(deviceKeyString({ hub: 'a/x', deviceId: 'd' })).not.toBe(
      deviceKeyString({ hub: 'a', deviceId: 'x/d' }),
    );
  });

  it('keeps a hub that looks escaped apart from the hub it looks like', () => {
    expect(deviceKeyString({ hub: 'a%2Fx', deviceId: 'd' })).not.toBe(
      deviceKeyString({ hub: 'a/x', deviceId: 'd' }),
    );
  });

  it('gives two devices the same key only when hub and id are both the same', () => {
    const part = fc.string({ unit: fc.constantFrom('a', 'x', '/', '%', '2', 'F', '5') });
    fc.assert(
      fc.property(part, part, part, part, (hubA, idA, hubB, idB) => {
        const same = hubA === hubB && idA === idB;
        const a = deviceKeyString({ hub: hubA, deviceId: idA });
        const b = deviceKeyString({ hub: hubB, deviceId: idB });
        return (a === b) === same;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('deviceIdProblem, by IoT Hub rules (AZURE-FACTS.md: up to 128 ASCII characters)', () => {
  it.each([
    ['letters and digits', 'Thermostat0001'],
    ['every special character IoT Hub documents', `dev${IOT_HUB_SPECIALS}1`],
    ['128 characters', 'x'.repeat(128)],
  ])('accepts %s', (_what, id) => {
    expect(deviceIdProblem(id)).toBeUndefined();
  });

  it.each([
    ['an empty id', '', 'device id is empty'],
    ['129 characters', 'x'.repeat(129), 'device id is 129 characters, over the 128 IoT Hub allows'],
    [
      'a thousand characters',
      'x'.repeat(1000),
      'device id is 1000 characters, over the 128 IoT Hub allows',
    ],
    ['a slash', 'a/b', 'device id holds "/" (U+002F) at position 2, which IoT Hub does not allow'],
    ['a space', 'a b', 'device id holds " " (U+0020) at position 2, which IoT Hub does not allow'],
    [
      'a backslash',
      'a\\b',
      'device id holds "\\" (U+005C) at position 2, which IoT Hub does not allow',
    ],
    ['a tilde', 'a~b', 'device id holds "~" (U+007E) at position 2, which IoT Hub does not allow'],
    ['a newline', 'a\nb', 'device id holds U+000A at position 2, which IoT Hub does not allow'],
    [
      'an ANSI escape',
      'a\u001b[31m',
      'device id holds U+001B at position 2, which IoT Hub does not allow',
    ],
    [
      'a letter beyond ASCII',
      'café',
      'device id holds U+00E9 at position 4, which IoT Hub does not allow',
    ],
    ['an emoji', 'a🔐', 'device id holds U+1F510 at position 2, which IoT Hub does not allow'],
    [
      'a lone high surrogate',
      'a\ud800b',
      'device id holds a lone surrogate (U+D800) at position 2: not text, and never altered to fit',
    ],
    [
      'a lone low surrogate',
      'ab\udc00',
      'device id holds a lone surrogate (U+DC00) at position 3: not text, and never altered to fit',
    ],
  ])('rejects %s, saying why', (_what, id, reason) => {
    expect(deviceIdProblem(id)).toBe(reason);
  });

  it('never quotes the id itself, which could be anything (a key pasted as an id)', () => {
    const id = `MIIEvQIBADANBgkqhkiG9w0BAQEFAASC${'A'.repeat(200)}/+==`;
    const problem = deviceIdProblem(id);
    expect(problem).toBeDefined();
    expect(problem).not.toContain('MIIEvQ');
  });

  it('checks module ids by the same rule, naming them module ids', () => {
    expect(moduleIdProblem('edgeAgent')).toBeUndefined();
    expect(moduleIdProblem('m'.repeat(129))).toBe(
      'module id is 129 characters, over the 128 IoT Hub allows',
    );
    expect(moduleIdProblem('a/b')).toBe(
      'module id holds "/" (U+002F) at position 2, which IoT Hub does not allow',
    );
  });
});

describe('hubNameProblem', () => {
  it.each(['contoso-hub', 'hub-a', 'h', 'sim-hub-7', 'a'.repeat(63)])(
    'accepts the hub name %s (a DNS label: letters, digits, hyphens)',
    (hub) => {
      expect(hubNameProblem(hub)).toBeUndefined();
    },
  );

  it.each([
    ['a slash', 'a/x', 'hub name holds "/" (U+002F) at position 2, which a hub name cannot'],
    [
      'a dot left after normalizing',
      'contoso.example',
      'hub name holds "." (U+002E) at position 8, which a hub name cannot',
    ],
    [
      '64 characters',
      'a'.repeat(64),
      'hub name is 64 characters, over the 63 of a host name label',
    ],
    [
      'a lone surrogate',
      'hub\udfff',
      'hub name holds a lone surrogate (U+DFFF) at position 4: not text, and never altered to fit',
    ],
  ])('rejects a hub name with %s', (_what, hub, reason) => {
    expect(hubNameProblem(hub)).toBe(reason);
  });
});
