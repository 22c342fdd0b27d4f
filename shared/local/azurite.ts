import { ChildProcess, spawn } from 'node:child_process';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

/**
 * Starts Azurite (the npm package, pinned to 3.35.0: later releases need Node 22) headless on
 * free loopback ports, in memory, and stops it. Tests and the local main job use it; nothing
 * assumes a server is already running.
 */
export interface RunningAzurite {
  blobPort: number;
  tablePort: number;
  /** A connection string for this Azurite, with Azurite's published development account. */
  connectionString: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

export async function startAzurite(): Promise<RunningAzurite> {
  const entry = require.resolve('azurite/dist/src/azurite.js');
  const child = spawn(
    process.execPath,
    [
      entry,
      '--inMemoryPersistence',
      '--blobHost',
      '127.0.0.1',
      '--queueHost',
      '127.0.0.1',
      '--tableHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--queuePort',
      '0',
      '--tablePort',
      '0',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ports = await new Promise<{ blob: number; table: number }>((resolve, reject) => {
    let output = '';
    const found: { blob?: number; table?: number } = {};
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            `Azurite did not start within ${START_TIMEOUT_MS / 1000} s: ${output.slice(-500)}`,
          ),
        ),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const match of output.matchAll(
        /Azurite (Blob|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/g,
      )) {
        found[match[1] === 'Blob' ? 'blob' : 'table'] = Number(match[2]);
      }
      if (found.blob && found.table) {
        clearTimeout(timer);
        // Stop collecting: Azurite keeps writing for as long as it runs, and rescanning all of
        // it on every chunk made a long run's own process slower by the minute.
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        output = '';
        resolve({ blob: found.blob, table: found.table });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      fail(new Error(`Azurite exited with code ${code}: ${output.slice(-500)}`)),
    );
    child.once('error', fail);
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    blobPort: ports.blob,
    tablePort: ports.table,
    connectionString: azuriteConnectionString(ports.blob, ports.table),
    stop: () => stopChild(child),
  };
}

/**
 * Azurite's account is the published development account; the blob SDK knows it as
 * `UseDevelopmentStorage=true`, so it is read from there rather than written out here.
 */
export function azuriteConnectionString(blobPort: number, tablePort: number): string {
  const dev = BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true')
    .credential as StorageSharedKeyCredential;
  const key = (dev as unknown as { accountKey: Buffer }).accountKey.toString('base64');
  const account = dev.accountName;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${account}`,
    `AccountKey=${key}`,
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${account}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${account}`,
  ].join(';');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.removeAllListeners('exit');
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
