import { spawn } from 'node:child_process';
import { main } from '../../shared/cli/certfleet';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { buildServices, useServices } from '../../shared/services';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet devices | head -c 1`: the reader goes away long before the ledger is printed. The
 * CLI ends quietly (exit 0, nothing on stderr), as a Unix tool does on SIGPIPE, instead of dying
 * on an unheard EPIPE with a stack trace.
 */
describe('certfleet into a pipe whose reader goes away', () => {
  const saved = { ...process.env };

  beforeAll(async () => {
    const env = testEnvironment();
    Object.assign(process.env, env);
    const services = buildServices(loadSettings(env), new ManualClock('2026-11-20T00:00:00Z'));
    const at = '2026-11-01T00:05:00.000Z';
    const certificate = {
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-01T00:00:00.000Z',
    };
    // 300 records of about 700 bytes: far more than a pipe's 64 KiB buffer.
    const events = Array.from({ length: 300 }, (_, i) =>
      twinUpdated({ hub: 'contoso-hub', deviceId: `pump-${i}`, at }, 2, { certificate }),
    );
    for (let i = 0; i < events.length; i += 100)
      await services.ingest.apply(events.slice(i, i + 100));
  });

  afterAll(() => {
    useServices(undefined);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  /** What main wrote to stderr while running `args`. */
  async function stderrOf(run: () => Promise<number>): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
      stderr += String(chunk);
      return true;
    }) as typeof process.stderr.write);
    try {
      return { code: await run(), stderr };
    } finally {
      err.mockRestore();
    }
  }

  it('ends quietly when standard output fails with EPIPE, as a socket does: in the callback, then an error event', async () => {
    let writes = 0;
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(((
      _chunk: unknown,
      callback?: (error?: Error) => void,
    ) => {
      writes += 1;
      const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' });
      process.nextTick(() => callback?.(epipe));
      process.nextTick(() => process.stdout.emit('error', epipe));
      return false;
    }) as typeof process.stdout.write);
    try {
      const run = await stderrOf(() => main(['devices', '--format', 'jsonl']));
      await new Promise((resolve) => setImmediate(resolve)); // the error event has been heard

      expect(run).toEqual({ code: 0, stderr: '' });
      expect(writes).toBe(1); // nothing more was written once the reader had gone
    } finally {
      out.mockRestore();
    }
  });

  it('ends quietly with exit code 0 and stops writing, into a real pipe', async () => {
    const head = spawn('head', ['-c', '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const run = await stderrOf(() => main(['devices', '--format', 'jsonl'], head.stdin));

      expect(run).toEqual({ code: 0, stderr: '' });
    } finally {
      head.kill();
    }
  });
});
