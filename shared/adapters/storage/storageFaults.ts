import { StorageRejected, TransientFault } from '../../app/ports';

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'REQUEST_SEND_ERROR',
]);

interface RestLikeError {
  statusCode?: number;
  code?: string;
  name?: string;
  message?: string;
}

export function statusOf(error: unknown): number | undefined {
  return (error as RestLikeError | undefined)?.statusCode;
}

export function codeOf(error: unknown): string | undefined {
  return (error as RestLikeError | undefined)?.code;
}

/**
 * Whether a storage error is the platform's passing trouble (retry later) rather than a
 * problem with the request. The SDKs have already retried these before we see them.
 */
export function isTransientStorageError(error: unknown): boolean {
  const e = error as RestLikeError | undefined;
  if (!e) return false;
  if (e.statusCode !== undefined) return TRANSIENT_STATUS.has(e.statusCode);
  if (e.code && TRANSIENT_NETWORK.has(e.code)) return true;
  return e.name === 'AbortError' || e.name === 'TimeoutError';
}

/**
 * Runs a storage call. A transient failure becomes a `TransientFault`; any other answer from
 * storage or the credential (403, 404 of a table, a bad endpoint, no token) a
 * `StorageRejected`: both fail the invocation rather than blame the event. Anything else (our
 * own errors thrown inside `call`) passes unchanged.
 */
export async function storageCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTransientStorageError(error)) {
      throw new TransientFault(`${what}: storage unavailable (${describe(error)})`, {
        cause: error,
      });
    }
    if (isStorageRefusal(error)) {
      throw new StorageRejected(`${what}: storage refused (${describe(error)})`, statusOf(error), {
        cause: error,
      });
    }
    throw error;
  }
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);

function isStorageRefusal(error: unknown): boolean {
  const e = error as RestLikeError | undefined;
  if (!e) return false;
  return (
    e.statusCode !== undefined || e.name === 'RestError' || CREDENTIAL_ERRORS.has(e.name ?? '')
  );
}

function describe(error: unknown): string {
  const e = error as RestLikeError;
  return [e.statusCode, e.code, e.name].filter((p) => p !== undefined).join(' ') || 'unknown error';
}
