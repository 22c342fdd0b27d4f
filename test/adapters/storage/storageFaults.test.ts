import { RestError } from '@azure/storage-blob';
import {
  codeOf,
  isTransientStorageError,
  statusOf,
  storageCall,
} from '../../../shared/adapters/storage/storageFaults';
import { StorageRejected, TransientFault } from '../../../shared/app/ports';

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:10000`), { code });
}

function namedError(name: string): Error {
  const error = new Error('the operation was aborted');
  error.name = name;
  return error;
}

describe('isTransientStorageError', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries a response with status %i', (statusCode) => {
    expect(isTransientStorageError(new RestError('busy', { statusCode }))).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 412, 413, 501])(
    'does not retry a response with status %i',
    (statusCode) => {
      expect(isTransientStorageError(new RestError('refused', { statusCode }))).toBe(false);
    },
  );

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EAI_AGAIN',
    'ENOTFOUND',
    'ENETUNREACH',
    'EHOSTUNREACH',
  ])('retries the network error %s', (code) => {
    expect(isTransientStorageError(networkError(code))).toBe(true);
  });

  it("retries the SDK's REQUEST_SEND_ERROR, which has no status", () => {
    const error = new RestError('socket hang up', { code: RestError.REQUEST_SEND_ERROR });
    expect(statusOf(error)).toBeUndefined();
    expect(isTransientStorageError(error)).toBe(true);
  });

  it.each(['AbortError', 'TimeoutError'])('retries a %s', (name) => {
    expect(isTransientStorageError(namedError(name))).toBe(true);
  });

  it('lets the status decide over a network-looking code', () => {
    const error = new RestError('gone', { statusCode: 404, code: 'ECONNRESET' });
    expect(isTransientStorageError(error)).toBe(false);
  });

  it.each([
    ['a storage error code without status', networkError('ContainerNotFound')],
    ['an unknown network code', networkError('EACCES')],
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is undefined')],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'ECONNRESET'],
  ])('does not retry %s', (_what, error) => {
    expect(isTransientStorageError(error)).toBe(false);
  });
});

describe('statusOf and codeOf', () => {
  it('read the status and code of a RestError', () => {
    const error = new RestError('precondition failed', {
      statusCode: 412,
      code: 'ConditionNotMet',
    });
    expect(statusOf(error)).toBe(412);
    expect(codeOf(error)).toBe('ConditionNotMet');
  });

  it('answer undefined for what is not an error', () => {
    expect(statusOf(undefined)).toBeUndefined();
    expect(codeOf(null)).toBeUndefined();
  });
});

describe('storageCall', () => {
  it('returns what the call returns', async () => {
    await expect(storageCall('read dev-1', async () => 42)).resolves.toBe(42);
  });

  it('turns a transient failure into a TransientFault that names the call and keeps the cause', async () => {
    const cause = new RestError('server busy', { statusCode: 503, code: 'ServerBusy' });
    const failure = await storageCall('write dev-1', async () => {
      throw cause;
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientFault);
    expect(failure).toMatchObject({
      code: 'TRANSIENT_FAULT',
      name: 'TransientFault',
      message: 'write dev-1: storage unavailable (503 ServerBusy RestError)',
      cause,
    });
  });

  it('turns a network failure into a TransientFault', async () => {
    const cause = networkError('ECONNREFUSED');
    const failure = await storageCall('append audit', async () => {
      throw cause;
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientFault);
    expect((failure as TransientFault).message).toBe(
      'append audit: storage unavailable (ECONNREFUSED Error)',
    );
    expect((failure as TransientFault).cause).toBe(cause);
  });

  it.each([
    [403, 'AuthorizationPermissionMismatch'],
    [404, 'TableNotFound'],
    [400, 'InvalidInput'],
    [412, 'ConditionNotMet'],
  ])(
    'turns a storage refusal (%s %s) into StorageRejected, so the invocation fails instead of blaming the event',
    async (statusCode, code) => {
      const refusal = new RestError('refused', { statusCode, code });
      const failure = await storageCall('write dev-1', async () => {
        throw refusal;
      }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StorageRejected);
      expect((failure as StorageRejected).status).toBe(statusCode);
      expect((failure as StorageRejected).cause).toBe(refusal);
    },
  );

  it('turns a credential that cannot get a token into StorageRejected', async () => {
    const noToken = Object.assign(new Error('no managed identity endpoint'), {
      name: 'CredentialUnavailableError',
    });
    await expect(
      storageCall('read dev-1', async () => {
        throw noToken;
      }),
    ).rejects.toBeInstanceOf(StorageRejected);
  });

  it('passes our own errors through unchanged', async () => {
    const ours = new TypeError('a bug of ours');
    await expect(
      storageCall('write dev-1', async () => {
        throw ours;
      }),
    ).rejects.toBe(ours);
  });

  it('passes a failure that is not an Error through unchanged', async () => {
    await expect(storageCall('read dev-1', () => Promise.reject('plain text'))).rejects.toBe(
      'plain text',
    );
  });

  it('does not wrap a TransientFault twice', async () => {
    const fault = new TransientFault('already transient');
    await expect(
      storageCall('read dev-1', async () => {
        throw fault;
      }),
    ).rejects.toBe(fault);
  });
});
