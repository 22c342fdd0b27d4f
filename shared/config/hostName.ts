/** A DNS host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/**
 * Whether `value` is a fully qualified host name such as `contoso-hub.azure-devices.net`. The
 * IoT Hub and Event Hubs settings both name their services by host name.
 */
export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}
