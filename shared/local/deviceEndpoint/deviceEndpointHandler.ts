import type { StandInAnswer, StandInHandler } from '../StandInDirectMethods';
import type { MethodTimeouts, StandInDeviceEndpoint } from './StandInDeviceEndpoint';

/**
 * A handler for the stand-in hub's REST endpoint (StandInIotHub) that reaches devices on the
 * MQTT endpoints: a call for a device registered with one of `endpoints` (for its hub) is
 * invoked there over MQTT and answered as IoT Hub answers (200 with the device's status and
 * payload, 404103 offline, 504101 timeout); any other device is left to `otherwise` (by
 * default 404001 not found), such as the fleet simulator's in-process devices.
 *
 * The stand-in hub passes the call's own `responseTimeoutInSeconds`/`connectTimeoutInSeconds`
 * (what certfleet's settings say); `timeouts` wins over them when given (tests that must not
 * wait IoT Hub's 5-second minimum), and IoT Hub's defaults (30 s, 0 s) apply when neither says.
 */
export function deviceEndpointHandler(
  endpoints: StandInDeviceEndpoint | readonly StandInDeviceEndpoint[],
  otherwise: StandInHandler = () => 'not-found',
  timeouts: MethodTimeouts = {},
): StandInHandler {
  const all: readonly StandInDeviceEndpoint[] = Array.isArray(endpoints)
    ? endpoints
    : [endpoints as StandInDeviceEndpoint];
  return (
    hub: string,
    deviceId: string,
    methodName: string,
    payload: unknown,
    callTimeouts?: MethodTimeouts,
  ): StandInAnswer | Promise<StandInAnswer> => {
    const endpoint = all.find((e) => e.serves(hub, deviceId));
    if (!endpoint) return otherwise(hub, deviceId, methodName, payload);
    return endpoint.invokeMethod(hub, deviceId, methodName, payload, {
      ...callTimeouts,
      ...timeouts,
    });
  };
}
