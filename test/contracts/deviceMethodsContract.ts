import { DeviceMethods } from '../../shared/app/ports';
import { DeviceKey } from '../../shared/domain/DeviceKey';
import { RenewalRequest } from '../../shared/domain/renewal/MethodOutcome';

/**
 * What every DeviceMethods answers for what a device or its hub does, classified as
 * shared/domain/renewal/MethodOutcome.ts defines: run against the scripted double of the
 * use-case tests and against IotHubDeviceMethods talking to the stand-in IoT Hub
 * (DeviceMethods.test.ts), so the double answers what the real adapter would.
 */

/** What a device (or its hub, for it) does when asked to renew. */
export type DeviceBehaviour =
  'accepts' | 'refuses' | 'is offline' | 'is not found' | 'times out' | 'is throttled';

export interface DeviceMethodsUnderTest {
  methods: DeviceMethods;
  /** From now on `device` does this when asked. */
  script(device: DeviceKey, behaviour: DeviceBehaviour): void;
  /** The calls that reached the devices (or the hub), in order. */
  calls(): { hub: string; deviceId: string; request: unknown }[];
}

const request: RenewalRequest = {
  requestId: 'req-0001',
  reason: 'due',
  currentValidUntil: '2026-12-01T00:00:00.000Z',
  deadline: '2026-11-26T13:00:00.000Z',
};

export function deviceMethodsContract(
  name: string,
  setUp: () => Promise<DeviceMethodsUnderTest>,
  tearDown: () => Promise<void> = async () => undefined,
): void {
  describe(`the DeviceMethods contract: ${name}`, () => {
    let subject: DeviceMethodsUnderTest;
    beforeAll(async () => {
      subject = await setUp();
    });
    afterAll(() => tearDown());

    // A device of its own per test: scripts do not carry over.
    let n = 0;
    const aDevice = (hub = 'hub-a'): DeviceKey => ({ hub, deviceId: `device-${(n += 1)}` });

    it.each([
      ['accepts', { kind: 'accepted', status: 202 }],
      ['refuses', { kind: 'refused', status: 409 }],
    ] as const)('answers what the device said when it %s', async (behaviour, outcome) => {
      const device = aDevice();
      subject.script(device, behaviour);

      await expect(subject.methods.requestRenewal(device, request)).resolves.toMatchObject(outcome);
    });

    it.each([
      ['is offline', { kind: 'offline', errorCode: 404103 }],
      ['is not found', { kind: 'not-found', errorCode: 404001 }],
      ['times out', { kind: 'timeout', errorCode: 504101 }],
      ['is throttled', { kind: 'throttled', errorCode: 429001 }],
    ] as const)("answers IoT Hub's error code when the device %s", async (behaviour, outcome) => {
      const device = aDevice();
      subject.script(device, behaviour);

      await expect(subject.methods.requestRenewal(device, request)).resolves.toEqual(outcome);
    });

    it('asks the device named, in its own hub, with the request as given', async () => {
      const device = aDevice('hub-b');
      subject.script(device, 'accepts');
      const before = subject.calls().length;

      await subject.methods.requestRenewal(device, request);

      expect(subject.calls().slice(before)).toEqual([
        { hub: 'hub-b', deviceId: device.deviceId, request },
      ]);
    });

    it('answers for each device what that device does', async () => {
      const offline = aDevice();
      const willing = aDevice();
      subject.script(offline, 'is offline');
      subject.script(willing, 'accepts');

      const [first, second] = await Promise.all([
        subject.methods.requestRenewal(offline, request),
        subject.methods.requestRenewal(willing, request),
      ]);

      expect([first.kind, second.kind]).toEqual(['offline', 'accepted']);
    });
  });
}
