import { RecordRejected, StorageRejected, TransientFault } from '../../app/ports';

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
/**
 * A table or container being deleted cannot be created again for a while (Azure: about 40 s):
 * the request succeeds later by itself.
 */
const TRANSIENT_CONFLICTS = new Set(['TableBeingDeleted', 'ContainerBeingDeleted']);

/**
 * Answers to a request whose own content storage can never accept, whatever the retries: a key
 * too long or with characters Table storage refuses (`InvalidInput`, `OutOfRangeInput`,
 * `KeyValueTooLarge`), a property or entity over the limits (64 KiB, 1 MiB, 255 properties),
 * a body too large (413) or a URL too long for its key (414). When the request carries one
 * record, that record is the problem, not the platform (Microsoft Learn, "Table Storage error
 * codes" and "Common REST API error codes"). A 400 with another code (`InvalidHeaderValue`,
 * `InvalidResourceName`: a client or settings problem) or none is not counted here.
 */
const PERMANENT_FOR_REQUEST_CODES = new Set([
  'InvalidInput',
  'OutOfRangeInput',
  'KeyValueTooLarge',
  'PropertyValueTooLarge',
  'EntityTooLarge',
  'TooManyProperties',
  'PropertyNameTooLong',
  'PropertyNameInvalid',
  'InvalidValueType',
  'DuplicatePropertiesSpecified',
  'PropertiesNeedValue',
  'RequestBodyTooLarge',
]);
const PERMANENT_FOR_REQUEST_STATUS = new Set([413, 414]);

/** A table or container that is not there (deleted after certfleet created it at start-up). */
const MISSING_RESOURCE_CODES = new Set(['TableNotFound', 'ContainerNotFound']);

interface RestLikeError {
  statusCode?: number;
  code?: string;
  name?: string;
  message?: string;
  details?: { errorCode?: unknown; odataError?: { code?: unknown } };
  response?: { headers?: { get?(name: string): string | undefined } };
}

export function statusOf(error: unknown): number | undefined {
  return (error as RestLikeError | undefined)?.statusCode;
}

/**
 * The service's error code (or a network error's code). @azure/storage-blob sets `code`;
 * @azure/data-tables leaves it empty and keeps the service's code in `details` (and an answer
 * without a body, to a HEAD request, has it only in the `x-ms-error-code` header).
 */
export function codeOf(error: unknown): string | undefined {
  const e = error as RestLikeError | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (e.code) return e.code;
  const details = e.details;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  if (typeof details?.odataError?.code === 'string') return details.odataError.code;
  const header = e.response?.headers?.get?.('x-ms-error-code');
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * What a storage answer means for certfleet:
 * - `transient`: the platform's passing trouble (throttling, 5xx, timeouts, the network, a table
 *   still being deleted); the SDKs have already retried these before we see them;
 * - `permanent-for-request`: the request's own content can never be accepted;
 * - `missing-resource`: the table or container is gone: create it again;
 * - `refused`: any other answer from storage or the credential (403, a wrong endpoint, no
 *   token): an operator must act;
 * - `not-storage`: not a storage answer at all (our own errors).
 */
export type StorageAnswer =
  'transient' | 'permanent-for-request' | 'missing-resource' | 'refused' | 'not-storage';

export function classifyStorageAnswer(error: unknown): StorageAnswer {
  if (isTransientStorageError(error)) return 'transient';
  const status = statusOf(error);
  const code = codeOf(error);
  if (status === 409 && code && TRANSIENT_CONFLICTS.has(code)) return 'transient';
  if (status === 404 && code && MISSING_RESOURCE_CODES.has(code)) return 'missing-resource';
  if (status !== undefined && PERMANENT_FOR_REQUEST_STATUS.has(status))
    return 'permanent-for-request';
  if (status === 400 && code && PERMANENT_FOR_REQUEST_CODES.has(code))
    return 'permanent-for-request';
  return isStorageRefusal(error) ? 'refused' : 'not-storage';
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

export interface StorageCallOptions {
  /**
   * The request carries one record (a device's entity, its index entry): an answer that no
   * retry can change is that record's problem, a `RecordRejected`, and the use case
   * dead-letters the events that made it. Without it, such an answer is a `StorageRejected`.
   */
  forRecord?: boolean;
  /**
   * Creates the call's table or container again. Given, a call that finds it missing (deleted
   * after start-up) creates it and is tried once more, instead of failing until someone acts.
   */
  recreate?: () => Promise<void>;
}

/**
 * Runs a storage call. A transient failure becomes a `TransientFault`; an answer the request's
 * record can never get past a `RecordRejected` (with `forRecord`); a missing table or container
 * is created again and the call retried (with `recreate`); any other answer from storage or the
 * credential (403, a bad endpoint, no token) a `StorageRejected`. Transient faults and refusals
 * fail the invocation rather than blame the event. Anything else (our own errors thrown inside
 * `call`) passes unchanged.
 */
export async function storageCall<T>(
  what: string,
  call: () => Promise<T>,
  options: StorageCallOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const answer = classifyStorageAnswer(error);
      if (answer === 'missing-resource' && options.recreate && attempt === 1) {
        await options.recreate();
        continue;
      }
      throw translated(what, error, answer, options);
    }
  }
}

function translated(
  what: string,
  error: unknown,
  answer: StorageAnswer,
  options: StorageCallOptions,
): unknown {
  switch (answer) {
    case 'transient':
      return new TransientFault(`${what}: storage unavailable (${describe(error)})`, {
        cause: error,
      });
    case 'permanent-for-request':
      if (options.forRecord)
        return new RecordRejected(
          `${what}: storage can never accept it (${describeAnswer(error)})`,
        );
      return refused(what, error);
    case 'missing-resource':
    case 'refused':
      return refused(what, error);
    case 'not-storage':
      return error;
  }
}

function refused(what: string, error: unknown): StorageRejected {
  return new StorageRejected(`${what}: storage refused (${describe(error)})`, statusOf(error), {
    cause: error,
  });
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

/** Status, code and error name: never the message, which may quote the request. */
function describe(error: unknown): string {
  const e = error as RestLikeError;
  return (
    [e.statusCode, codeOf(error), e.name].filter((p) => p !== undefined).join(' ') ||
    'unknown error'
  );
}

function describeAnswer(error: unknown): string {
  return [statusOf(error), codeOf(error)].filter((p) => p !== undefined).join(' ');
}
