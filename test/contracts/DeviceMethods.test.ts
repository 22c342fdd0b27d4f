import { IotHubDeviceMethods } from '../../shared/adapters/iothub/IotHubDeviceMethods';
import { LOCAL_DEVELOPMENT_POLICY, loadIotHubSettings } from '../../shared/config/iotHubSettings';
import { DeviceKey, deviceKeyString } from '../../shared/domain/DeviceKey';
import { StandInAnswer, StandInIotHub } from '../../shared/local/StandInIotHub';
import { ScriptedDeviceMethods } from '../support/memoryPorts';
import { DeviceBehaviour, deviceMethodsContract } from './deviceMethodsContract';

deviceMethodsContract('ScriptedDeviceMethods', async () => {
  const methods = new ScriptedDeviceMethods();
  const tell: Record<DeviceBehaviour, (device: DeviceKey) => void> = {
    accepts: (device) => methods.accept(device, 202),
    refuses: (device) => methods.refuse(device, 409),
    'is offline': (device) => methods.offline(device),
    'is not found': (device) => methods.notFound(device),
    'times out': (device) => methods.timeOut(device),
    'is throttled': (device) => methods.throttle(device),
  };
  return {
    methods,
    script: (device, behaviour) => tell[behaviour](device),
    calls: () => methods.calls.map(({ hub, deviceId, request }) => ({ hub, deviceId, request })),
  };
});

/** The same behaviours as the stand-in IoT Hub plays them, over real HTTP on 127.0.0.1. */
const ANSWERS: Record<DeviceBehaviour, StandInAnswer> = {
  accepts: { device: { status: 202, payload: { renewing: true } } },
  refuses: { device: { status: 409, payload: { busy: true } } },
  'is offline': 'offline',
  'is not found': 'not-found',
  'times out': 'timeout',
  'is throttled': 'throttled',
};
const scripts = new Map<string, StandInAnswer>();
const hub = new StandInIotHub(
  (hubName, deviceId) => scripts.get(deviceKeyString({ hub: hubName, deviceId })) ?? 'not-found',
  { sharedAccessKeys: { [LOCAL_DEVELOPMENT_POLICY.keyName]: LOCAL_DEVELOPMENT_POLICY.key } },
);

deviceMethodsContract(
  'IotHubDeviceMethods against the stand-in IoT Hub',
  async () => {
    const { url } = await hub.start();
    const settings = loadIotHubSettings({ CERTFLEET_IOTHUB_ENDPOINT: url });
    if (!settings) throw new Error('expected IoT Hub settings for the stand-in hub');
    return {
      methods: IotHubDeviceMethods.fromSettings(settings),
      script: (device, behaviour) => scripts.set(deviceKeyString(device), ANSWERS[behaviour]),
      calls: () =>
        hub.calls.map((call) => ({
          hub: call.hub,
          deviceId: call.deviceId,
          request: (call.body as { payload?: unknown }).payload,
        })),
    };
  },
  () => hub.stop(),
);
