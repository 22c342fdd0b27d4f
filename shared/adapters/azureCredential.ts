import type { TokenCredential } from '@azure/identity';

type IdentityModule = typeof import('@azure/identity');

/** Which Entra ID credential a setting asks for: a managed identity, or DefaultAzureCredential. */
export interface CredentialChoice {
  /** `managedidentity`: the app's managed identity only; absent: DefaultAzureCredential. */
  kind?: 'managedidentity' | 'default';
  /** A user-assigned identity's client id. */
  clientId?: string;
}

/**
 * The Entra ID credential for storage, IoT Hub, Event Grid or Key Vault, as the settings choose
 * it. @azure/identity (with MSAL) is the heaviest SDK certfleet uses, about 230 ms to load: it is
 * loaded here, when the first credential is made, so a process on connection strings or keys
 * (Azurite, the CLI with a connection string) never loads it (bench/cold-start.js).
 */
export function azureCredential(choice: CredentialChoice): TokenCredential {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  const identity: IdentityModule = require('@azure/identity');
  if (choice.kind === 'managedidentity') {
    return choice.clientId
      ? new identity.ManagedIdentityCredential({ clientId: choice.clientId })
      : new identity.ManagedIdentityCredential();
  }
  return new identity.DefaultAzureCredential(
    choice.clientId ? { managedIdentityClientId: choice.clientId } : {},
  );
}
