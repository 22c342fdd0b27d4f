import { isHostName } from './hostName';

/**
 * An IoT Hub service connection string, parsed (AZURE-FACTS.md, "IoT Hub direct methods"). Pure
 * text work, so the settings can check it; the SAS tokens signed with its key are the IoT Hub
 * adapter's (adapters/iothub/iotHubConnection.ts). A shared access key is a secret: no error
 * message here ever contains one.
 */
export interface IotHubConnectionString {
  /** `contoso-hub.azure-devices.net` (as written, trimmed). */
  hostName: string;
  /** The first DNS label of the host name, lower-cased: `contoso-hub`. */
  hubName: string;
  /** The shared access policy: `iothubowner`, `service`, … */
  sharedAccessKeyName: string;
  /** The policy's key, base64, as the portal shows it. */
  sharedAccessKey: string;
}

export class IotHubConnectionStringError extends Error {
  readonly code = 'IOTHUB_CONNECTION_STRING_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'IotHubConnectionStringError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** What a shared access policy name looks like (`iothubowner`, `service`, `certfleet-renewals`). */
const POLICY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `Contoso-Hub.azure-devices.net` -> `contoso-hub`: the name events carry in `hubName`. */
export function hubNameOfHost(hostName: string): string {
  return (hostName.trim().split('.')[0] ?? '').toLowerCase();
}

/**
 * Parses `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` (any order, keys
 * case-insensitive). Throws `IotHubConnectionStringError` naming what is wrong, never the key.
 * Device connection strings (`DeviceId=…`) are refused: they cannot call direct methods.
 */
export function parseIotHubConnectionString(text: string): IotHubConnectionString {
  const parts = new Map<string, string>();
  for (const segment of text.split(';')) {
    if (segment.trim() === '') continue;
    const equals = segment.indexOf('=');
    // A segment without `=` is not `Name=value`; say so without echoing it (it may be a key).
    if (equals <= 0) throw new IotHubConnectionStringError('a part is not Name=value');
    // Only the first `=` separates: base64 keys end in `=` padding.
    parts.set(segment.slice(0, equals).trim().toLowerCase(), segment.slice(equals + 1).trim());
  }
  if (parts.has('deviceid') || parts.has('moduleid')) {
    throw new IotHubConnectionStringError(
      'a device connection string; direct methods need a service policy (SharedAccessKeyName=…)',
    );
  }
  const hostName = parts.get('hostname') ?? '';
  const sharedAccessKeyName = parts.get('sharedaccesskeyname') ?? '';
  const sharedAccessKey = parts.get('sharedaccesskey') ?? '';
  const missing = [
    hostName ? undefined : 'HostName',
    sharedAccessKeyName ? undefined : 'SharedAccessKeyName',
    sharedAccessKey ? undefined : 'SharedAccessKey',
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) throw new IotHubConnectionStringError(`missing ${missing.join(', ')}`);
  if (!isHostName(hostName)) {
    throw new IotHubConnectionStringError('HostName is not a host name');
  }
  if (!BASE64.test(sharedAccessKey) || Buffer.from(sharedAccessKey, 'base64').length === 0) {
    // The policy is named only when it looks like a policy name: swapped with the key, the
    // "name" is the key (a base64 key ends in = padding or is longer than 64 characters).
    const policy = POLICY_NAME.test(sharedAccessKeyName) ? ` of policy ${sharedAccessKeyName}` : '';
    throw new IotHubConnectionStringError(`the SharedAccessKey${policy} is not base64`);
  }
  return { hostName, hubName: hubNameOfHost(hostName), sharedAccessKeyName, sharedAccessKey };
}
