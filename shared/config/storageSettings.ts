import { z } from 'zod';
import { optionalText } from './settingSchemas';

/**
 * The storage account holding the ledger and the audit trail: a connection string
 * (`FleetStorage`), identity-based service URIs (`FleetStorage__blobServiceUri` and
 * `FleetStorage__tableServiceUri`, as the Functions host names identity-based connections), or,
 * with neither set, local Azurite development storage.
 */
export type StorageSettings =
  | { kind: 'connection-string'; connectionString: string }
  | {
      kind: 'identity';
      blobServiceUri: string;
      tableServiceUri: string;
      credential?: 'managedidentity';
      clientId?: string;
    }
  | { kind: 'development' };

/** The storage settings, each checked on its own; `storageSettingsFrom` checks them together. */
export const storageSettingsSchema = z.object({
  FleetStorage: optionalText,
  FleetStorage__blobServiceUri: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  FleetStorage__tableServiceUri: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  FleetStorage__credential: optionalText.pipe(z.enum(['managedidentity']).optional()),
  FleetStorage__clientId: optionalText,
});

/**
 * The storage settings from their parsed values, adding to `problems` what is wrong between
 * them. `invalid` names the settings already reported invalid, so they are not named twice.
 */
export function storageSettingsFrom(
  v: z.output<typeof storageSettingsSchema>,
  invalid: ReadonlySet<string>,
  problems: string[],
): StorageSettings {
  if (v.FleetStorage) {
    if (!/AccountName=|BlobEndpoint=|UseDevelopmentStorage=true/i.test(v.FleetStorage)) {
      problems.push(
        'FleetStorage: not a storage connection string (expected AccountName=… or BlobEndpoint=…)',
      );
    }
    return { kind: 'connection-string', connectionString: v.FleetStorage };
  }
  if (v.FleetStorage__blobServiceUri || v.FleetStorage__tableServiceUri) {
    if (!v.FleetStorage__blobServiceUri && !invalid.has('FleetStorage__blobServiceUri'))
      problems.push('FleetStorage__blobServiceUri: required with FleetStorage__tableServiceUri');
    if (!v.FleetStorage__tableServiceUri && !invalid.has('FleetStorage__tableServiceUri'))
      problems.push('FleetStorage__tableServiceUri: required with FleetStorage__blobServiceUri');
    return {
      kind: 'identity',
      blobServiceUri: v.FleetStorage__blobServiceUri ?? '',
      tableServiceUri: v.FleetStorage__tableServiceUri ?? '',
      ...(v.FleetStorage__credential ? { credential: v.FleetStorage__credential } : {}),
      ...(v.FleetStorage__clientId ? { clientId: v.FleetStorage__clientId } : {}),
    };
  }
  return { kind: 'development' };
}
