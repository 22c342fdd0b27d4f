import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  FleetStorageProbe,
  PROBE_PARTITION_KEY,
  PROBE_ROW_KEY,
} from '../../../shared/adapters/storage/FleetStorageProbe';
import { ProbeFailed } from '../../../shared/app/ports';
import {
  azuriteConnectionString,
  containerClient,
  everythingStoredUnder,
  freshPrefix,
  tableClient,
} from '../../support/rawStorage';

/**
 * The health check's storage probe against a real Azurite: storage that answers (whether or not
 * certfleet has created its table and container yet), storage that refuses certfleet's key, and
 * storage that is not there. It never writes.
 */
async function failureOf(probe: Promise<void>): Promise<string> {
  try {
    await probe;
  } catch (error) {
    expect(error).toBeInstanceOf(ProbeFailed);
    return (error as ProbeFailed).problem;
  }
  throw new Error('expected the probe to fail');
}

/** A probe on clients of the given connection string, which try each request once. */
function probeOn(connectionString: string, prefix: string): FleetStorageProbe {
  return new FleetStorageProbe(
    TableClient.fromConnectionString(connectionString, `${prefix}ledger`, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    }),
    BlobServiceClient.fromConnectionString(connectionString, {
      retryOptions: { maxTries: 1 },
    }).getContainerClient(`${prefix}-audit`),
  );
}

const signal = () => new AbortController().signal;

describe('FleetStorageProbe', () => {
  it('passes on a fresh deployment, before the ledger table and audit container exist, and writes nothing', async () => {
    const prefix = freshPrefix();

    await expect(
      probeOn(azuriteConnectionString(), prefix).probe(signal()),
    ).resolves.toBeUndefined();

    expect(await everythingStoredUnder(prefix)).toEqual([]);
  });

  it('passes once they exist, reading a row certfleet never writes', async () => {
    const prefix = freshPrefix();
    await tableClient(`${prefix}ledger`).createTable();
    await containerClient(`${prefix}-audit`).create();

    await expect(
      probeOn(azuriteConnectionString(), prefix).probe(signal()),
    ).resolves.toBeUndefined();

    await expect(
      tableClient(`${prefix}ledger`).getEntity(PROBE_PARTITION_KEY, PROBE_ROW_KEY),
    ).rejects.toMatchObject({ statusCode: 404 });
  });

  it('fails with the status and error code when storage refuses the key, never quoting it', async () => {
    const wrongKey = Buffer.from(
      'a key this Azurite account does not have, 64 bytes long........',
    ).toString('base64');
    const refused = azuriteConnectionString().replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`);

    const problem = await failureOf(probeOn(refused, freshPrefix()).probe(signal()));

    expect(problem).toMatch(/^(table|container): 403 \w+$/);
    expect(problem).not.toContain(wrongKey.slice(0, 12));
  });

  it('fails with the network error when nothing listens where storage should be', async () => {
    const nowhere = azuriteConnectionString().replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:1');

    expect(await failureOf(probeOn(nowhere, freshPrefix()).probe(signal()))).toMatch(
      /^(table|container): ECONNREFUSED$/,
    );
  });
});
