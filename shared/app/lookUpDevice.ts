import { normalizeHubName } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { CertificateLedger } from './ports';

/**
 * A device by the id a person typed, for the HTTP API and the CLI: device ids are unique per hub
 * only, so without a hub the id may name devices in several hubs, and the caller must say which.
 */
export type DeviceLookup =
  { found: DeviceRecord } | { missing: true } | { ambiguous: readonly string[] };

export async function lookUpDevice(
  ledger: CertificateLedger,
  deviceId: string,
  hub?: string,
): Promise<DeviceLookup> {
  const records = hub
    ? [(await ledger.read({ hub: normalizeHubName(hub), deviceId }))?.value].filter(
        (r): r is DeviceRecord => r !== undefined,
      )
    : await ledger.findByDeviceId(deviceId);
  if (records.length === 0) return { missing: true };
  if (records.length > 1) return { ambiguous: records.map((r) => r.hub) };
  return { found: records[0]! };
}
