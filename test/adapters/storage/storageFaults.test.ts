import { RestError } from '@azure/storage-blob';
import {
  classifyStorageAnswer,
  codeOf,
  isTransientStorageError,
  statusOf,
  storageCall,
} from '../../../shared/adapters/storage/storageFaults';
import { RecordRejected, StorageRejected, TransientFault } from '../../../shared/app/ports';

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

/** A Table service error as @azure/data-tables 13 throws it: the code in `details`, not `code`. */
function tableError(statusCode: number, errorCode: string): RestError {
  const error = new RestError(`{"odata.error":{"code":"${errorCode}"}}`, { statusCode });
  (error as RestError & { details: unknown }).details = {
    errorCode,
    odataError: { code: errorCode },
  };
  return error;
}

describe('classifyStorageAnswer', () => {
  it.each([
    ['503 ServerBusy', new RestError('busy', { statusCode: 503, code: 'ServerBusy' })],
    ['429', new RestError('throttled', { statusCode: 429 })],
    ['a reset connection', networkError('ECONNRESET')],
    ['409 TableBeingDeleted', tableError(409, 'TableBeingDeleted')],
    [
      '409 ContainerBeingDeleted',
      new RestError('x', { statusCode: 409, code: 'ContainerBeingDeleted' }),
    ],
  ])('calls %s transient: it heals by itself', (_what, error) => {
    expect(classifyStorageAnswer(error)).toBe('transient');
  });

  it.each([
    ['400 InvalidInput (a key Table storage cannot hold)', tableError(400, 'InvalidInput')],
    ['400 OutOfRangeInput', tableError(400, 'OutOfRangeInput')],
    ['400 PropertyValueTooLarge', tableError(400, 'PropertyValueTooLarge')],
    ['400 EntityTooLarge', tableError(400, 'EntityTooLarge')],
    ['400 KeyValueTooLarge', tableError(400, 'KeyValueTooLarge')],
    ['400 TooManyProperties', tableError(400, 'TooManyProperties')],
    ['400 PropertyNameTooLong', tableError(400, 'PropertyNameTooLong')],
    ['400 InvalidValueType', tableError(400, 'InvalidValueType')],
    [
      '413 RequestBodyTooLarge',
      new RestError('x', { statusCode: 413, code: 'RequestBodyTooLarge' }),
    ],
    ['413 without a code', new RestError('x', { statusCode: 413 })],
    ['414 (a key too long for the URL)', new RestError('x', { statusCode: 414 })],
  ])('calls %s permanent for the request: no retry can change it', (_what, error) => {
    expect(classifyStorageAnswer(error)).toBe('permanent-for-request');
  });

  it.each([
    ['404 TableNotFound', tableError(404, 'TableNotFound')],
    ['404 ContainerNotFound', new RestError('x', { statusCode: 404, code: 'ContainerNotFound' })],
  ])('calls %s a missing table or container', (_what, error) => {
    expect(classifyStorageAnswer(error)).toBe('missing-resource');
  });

  it('reads the code from the x-ms-error-code header when the body had none (a HEAD request)', () => {
    const error = Object.assign(new RestError('', { statusCode: 404 }), {
      // What a HEAD answer carries: no body, the code in a header only.
      response: {
        headers: {
          get: (name: string) => (name === 'x-ms-error-code' ? 'ContainerNotFound' : undefined),
        },
      } as unknown as RestError['response'],
    });
    expect(codeOf(error)).toBe('ContainerNotFound');
    expect(classifyStorageAnswer(error)).toBe('missing-resource');
  });

  it.each([
    [
      '403 AuthorizationPermissionMismatch',
      new RestError('x', { statusCode: 403, code: 'AuthorizationPermissionMismatch' }),
    ],
    [
      '400 InvalidHeaderValue (a client the service does not understand)',
      new RestError('x', { statusCode: 400, code: 'InvalidHeaderValue' }),
    ],
    ['400 without a code', new RestError('x', { statusCode: 400 })],
    [
      '400 InvalidResourceName (a table name from the settings)',
      tableError(400, 'InvalidResourceName'),
    ],
    ['404 ResourceNotFound', tableError(404, 'ResourceNotFound')],
  ])('calls %s refused: an operator must act, the event is not to blame', (_what, error) => {
    expect(classifyStorageAnswer(error)).toBe('refused');
  });

  it.each([
    ['a bug of ours', new TypeError('x is undefined')],
    ['undefined', undefined],
  ])('does not claim %s', (_what, error) => {
    expect(classifyStorageAnswer(error)).toBe('not-storage');
  });
});

describe('storageCall for a request that carries one record', () => {
  it.each([
    [
      tableError(400, 'InvalidInput'),
      'write ledger record: storage can never accept it (400 InvalidInput)',
    ],
    [
      tableError(400, 'PropertyValueTooLarge'),
      'write ledger record: storage can never accept it (400 PropertyValueTooLarge)',
    ],
    [
      new RestError('x', { statusCode: 413, code: 'RequestBodyTooLarge' }),
      'write ledger record: storage can never accept it (413 RequestBodyTooLarge)',
    ],
  ])(
    'turns an answer no retry can change into RecordRejected, so the event is dead-lettered',
    async (answer, message) => {
      const failure = await storageCall(
        'write ledger record',
        async () => {
          throw answer;
        },
        { forRecord: true },
      ).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RecordRejected);
      expect((failure as RecordRejected).message).toBe(message);
    },
  );

  it('still fails the invocation for a refusal that is not the record’s (403)', async () => {
    const failure = await storageCall(
      'write ledger record',
      async () => {
        throw new RestError('x', { statusCode: 403, code: 'AuthorizationPermissionMismatch' });
      },
      { forRecord: true },
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageRejected);
  });

  it('calls a 400 of a request that carries no record refused, not the record’s fault (creating a table)', async () => {
    const failure = await storageCall('create ledger tables', async () => {
      throw tableError(400, 'InvalidInput');
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageRejected);
  });
});

describe('storageCall with a table or container that went missing', () => {
  it('creates it again and retries the call once, on the failing call', async () => {
    let created = 0;
    let calls = 0;
    const result = await storageCall(
      'write ledger record',
      async () => {
        calls += 1;
        if (calls === 1) throw tableError(404, 'TableNotFound');
        return 'written';
      },
      {
        recreate: async () => {
          created += 1;
        },
      },
    );
    expect(result).toBe('written');
    expect({ calls, created }).toEqual({ calls: 2, created: 1 });
  });

  it('reports it as refused when it is missing again right after being created', async () => {
    const failure = await storageCall(
      'write ledger record',
      async () => {
        throw tableError(404, 'TableNotFound');
      },
      { recreate: async () => undefined },
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageRejected);
  });

  it('reports it as refused when the caller cannot create it', async () => {
    const failure = await storageCall('read dead letter', async () => {
      throw new RestError('x', { statusCode: 404, code: 'ContainerNotFound' });
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StorageRejected);
  });
});
