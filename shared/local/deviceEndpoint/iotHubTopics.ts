/**
 * The MQTT topics of IoT Hub's device endpoint, as Microsoft documents them (Learn,
 * "Communicate with an IoT hub using the MQTT protocol") and as the Node device SDK uses them
 * (azure-iot-device-mqtt: `mqtt.js`, `mqtt_twin_client.js`). IoT Hub is not a general broker:
 * a device may publish and subscribe only to these, and its twin and method topics carry no
 * device id because each connection is one device's.
 */

/** What a device may publish, parsed. */
export type DevicePublish =
  | { kind: 'twin-get'; rid: string }
  | { kind: 'twin-patch-reported'; rid: string }
  | { kind: 'method-response'; rid: string; status: number }
  | { kind: 'telemetry' };

/** Filters a device may subscribe to. IoT Hub allows no other wildcard use. */
export const METHODS_FILTER = '$iothub/methods/POST/#';
export const TWIN_RESPONSES_FILTER = '$iothub/twin/res/#';
export const DESIRED_UPDATES_FILTER = '$iothub/twin/PATCH/properties/desired/#';

/** "A device can only subscribe to five topics at a time." */
export const MAX_SUBSCRIPTIONS = 5;

/** The topics IoT Hub publishes to devices; nothing else reaches a device. */
const CLOUD_TO_DEVICE_PREFIXES = [
  '$iothub/methods/POST/',
  '$iothub/twin/res/',
  '$iothub/twin/PATCH/properties/desired/',
] as const;

/** The filters `deviceId` may subscribe to; `undefined` when the filter is not one of them. */
export function subscriptionKind(
  filter: string,
  deviceId: string,
): 'methods' | 'twin-responses' | 'desired-updates' | 'cloud-to-device' | undefined {
  if (filter === METHODS_FILTER) return 'methods';
  // One method alone: `$iothub/methods/POST/{method name}/#` ("Understand and invoke direct
  // methods": subscribing per method is allowed, if not recommended).
  if (/^\$iothub\/methods\/POST\/[^/#+]+\/#$/.test(filter)) return 'methods';
  if (filter === TWIN_RESPONSES_FILTER) return 'twin-responses';
  if (filter === DESIRED_UPDATES_FILTER) return 'desired-updates';
  if (filter === `devices/${deviceId}/messages/devicebound/#`) return 'cloud-to-device';
  return undefined;
}

/** Whether a methods subscription delivers a call of `methodName`. */
export function deliversMethod(filter: string, methodName: string): boolean {
  return filter === METHODS_FILTER || filter === `$iothub/methods/POST/${methodName}/#`;
}

/** What a publish of `deviceId` on `topic` is; `undefined` when IoT Hub does not accept it. */
export function parseDevicePublish(topic: string, deviceId: string): DevicePublish | undefined {
  if (topic.startsWith(`devices/${deviceId}/messages/events/`)) return { kind: 'telemetry' };
  const [path, query = ''] = splitQuery(topic);
  const properties = parseProperties(query);
  const rid = properties.get('$rid');
  if (rid === undefined || rid === '') return undefined;
  if (path === '$iothub/twin/GET/') return { kind: 'twin-get', rid };
  if (path === '$iothub/twin/PATCH/properties/reported/') {
    return { kind: 'twin-patch-reported', rid };
  }
  const response = /^\$iothub\/methods\/res\/(-?\d+)\/$/.exec(path);
  if (response?.[1]) return { kind: 'method-response', rid, status: Number(response[1]) };
  return undefined;
}

/** Whether IoT Hub would deliver a message on `topic` to a device: only its own kinds. */
export function isCloudToDeviceTopic(topic: string, deviceId: string): boolean {
  return (
    CLOUD_TO_DEVICE_PREFIXES.some((prefix) => topic.startsWith(prefix)) ||
    topic.startsWith(`devices/${deviceId}/messages/devicebound/`)
  );
}

export function methodRequestTopic(methodName: string, rid: string): string {
  return `$iothub/methods/POST/${methodName}/?$rid=${encodeURIComponent(rid)}`;
}

export function twinResponseTopic(status: number, rid: string, version?: number): string {
  const base = `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(rid)}`;
  return version === undefined ? base : `${base}&$version=${version}`;
}

export function desiredUpdateTopic(version: number): string {
  return `$iothub/twin/PATCH/properties/desired/?$version=${version}`;
}

/**
 * The `username` of a CONNECT: `{iotHub-hostname}/{device-id}/?api-version=2021-04-12`, with
 * whatever the SDK appends (`&DeviceClientType=…`). Undefined when it is not of that form.
 */
export function parseUsername(
  username: string,
): { host: string; deviceId: string; apiVersion?: string } | undefined {
  const match = /^([^/]+)\/([^/]+)\/(\?.*)?$/.exec(username);
  if (!match?.[1] || !match[2]) return undefined;
  const apiVersion = parseProperties((match[3] ?? '').slice(1)).get('api-version');
  return { host: match[1], deviceId: match[2], ...(apiVersion ? { apiVersion } : {}) };
}

function splitQuery(topic: string): [string, string?] {
  const at = topic.indexOf('?');
  return at < 0 ? [topic] : [topic.slice(0, at), topic.slice(at + 1)];
}

/** A property bag, `k=v&k2=v2`, URL-encoded; a key alone has the empty value. */
function parseProperties(query: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const [key, value] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
    try {
      properties.set(decodeURIComponent(key), decodeURIComponent(value));
    } catch {
      properties.set(key, value);
    }
  }
  return properties;
}
