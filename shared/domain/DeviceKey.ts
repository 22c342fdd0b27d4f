/**
 * A device is known by the hub it lives in and its IoT Hub device id. Several hubs may feed one
 * certfleet, and device ids are unique only within a hub.
 */
export interface DeviceKey {
  hub: string;
  deviceId: string;
}

export function deviceKeyString(key: DeviceKey): string {
  return `${key.hub}/${key.deviceId}`;
}

/** IoT Hub names are DNS labels; `contoso-hub.azure-devices.net` and `contoso-hub` are one hub. */
export function normalizeHubName(hub: string): string {
  return hub
    .trim()
    .toLowerCase()
    .replace(/\.azure-devices\.net$/, '');
}
