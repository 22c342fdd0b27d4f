import { main } from '../../shared/cli/certfleet';

/** What one in-process run of the CLI printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `certfleet <args>` in this process (as test/cli/certfleet.test.ts does), capturing what
 * it writes. It reads its settings from process.env, like the real one.
 */
export async function certfleet(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const capture = (sink: (text: string) => void) =>
    ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
      sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (typeof done === 'function') (done as () => void)();
      return true;
    }) as typeof process.stdout.write;
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture((t) => (stdout += t)));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture((t) => (stderr += t)));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
