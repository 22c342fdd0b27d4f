import { IotHubDeviceMethods } from '../../shared/adapters/iothub/IotHubDeviceMethods';
import { DeviceMethods } from '../../shared/app/ports';
import { loadIotHubSettings } from '../../shared/config/iotHubSettings';
import { DeviceKey } from '../../shared/domain/DeviceKey';
import { MethodOutcome, RenewalRequest } from '../../shared/domain/renewal/MethodOutcome';
import { StandInIotHub } from '../../shared/local/StandInIotHub';
import { deviceMethodsHandler } from '../../shared/local/deviceMethodsHandler';

const REQUEST: RenewalRequest = {
  requestId: 'req-1',
  reason: 'manual',
  currentValidUntil: '2026-12-09T08:00:00.000Z',
  deadline: '2026-12-02T09:00:00.000Z',
};

/** In-process devices that answer what the test scripts, and remember what they were asked. */
class ScriptedDevices implements DeviceMethods {
  outcome: MethodOutcome = { kind: 'accepted', status: 202, payload: { requestId: 'req-1' } };
  readonly asked: { key: DeviceKey; request: RenewalRequest }[] = [];

  requestRenewal(key: DeviceKey, request: RenewalRequest): Promise<MethodOutcome> {
    this.asked.push({ key, request });
    return Promise.resolve(this.outcome);
  }
}

describe('the stand-in hub reaching in-process devices through a DeviceMethods port', () => {
  const devices = new ScriptedDevices();
  const hub = new StandInIotHub(deviceMethodsHandler(devices));
  let adapter: IotHubDeviceMethods;

  beforeAll(async () => {
    const { url } = await hub.start();
    adapter = IotHubDeviceMethods.fromSettings(
      loadIotHubSettings({ CERTFLEET_IOTHUB_ENDPOINT: url })!,
    );
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    devices.asked.length = 0;
  });

  it('hands certfleet’s request to the device as sent, and its answer back as IoT Hub returns it', async () => {
    const outcome = await adapter.requestRenewal({ hub: 'sim-hub', deviceId: 'dev-0001' }, REQUEST);

    expect(devices.asked).toEqual([
      { key: { hub: 'sim-hub', deviceId: 'dev-0001' }, request: REQUEST },
    ]);
    expect(outcome).toEqual({ kind: 'accepted', status: 202, payload: { requestId: 'req-1' } });
  });

  it.each<[string, MethodOutcome]>([
    ['refuses', { kind: 'refused', status: 409, payload: { reason: 'busy' } }],
    ['is offline', { kind: 'offline', errorCode: 404103 }],
    ['is not in the hub', { kind: 'not-found', errorCode: 404001 }],
    ['does not answer in time', { kind: 'timeout', errorCode: 504101 }],
  ])('tells certfleet that a device %s, as the device said', async (_what, given) => {
    devices.outcome = given;

    const outcome = await adapter.requestRenewal({ hub: 'sim-hub', deviceId: 'dev-0002' }, REQUEST);

    expect(outcome).toEqual(given);
  });

  it('answers throttled as IoT Hub’s 429, which certfleet reads as throttling', async () => {
    devices.outcome = { kind: 'throttled', errorCode: 429001 };

    const outcome = await adapter.requestRenewal({ hub: 'sim-hub', deviceId: 'dev-0002' }, REQUEST);

    expect(outcome).toMatchObject({ kind: 'throttled', errorCode: 429001 });
  });

  it('answers a method the devices do not implement as a device without its callback (404103)', async () => {
    const handler = deviceMethodsHandler(devices);

    await expect(handler('sim-hub', 'dev-0001', 'reboot', REQUEST)).resolves.toBe('offline');
    expect(devices.asked).toEqual([]);
  });

  it('answers a payload that is no renewal request as the device’s 400, without asking it', async () => {
    const handler = deviceMethodsHandler(devices);

    await expect(handler('sim-hub', 'dev-0001', 'renewCertificate', 'renew!')).resolves.toEqual({
      device: { status: 400, payload: { error: 'not a renewal request' } },
    });
    expect(devices.asked).toEqual([]);
  });
});
