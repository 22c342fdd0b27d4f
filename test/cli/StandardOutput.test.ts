import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { OutputClosed, StandardOutput } from '../../shared/cli/StandardOutput';

/**
 * The CLI's standard output when it is a pipe whose reader goes away (`certfleet … | head`):
 * a real pipe to `head -c 1`, which exits after one byte.
 */
function aPipeToHead() {
  const head = spawn('head', ['-c', '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => head.once('exit', () => resolve()));
  return { stdin: head.stdin, exited };
}

describe('StandardOutput', () => {
  it('ends writing with OutputClosed, and no unheard stream error, once the reader of the pipe has gone', async () => {
    const pipe = aPipeToHead();
    const output = new StandardOutput(pipe.stdin);
    let closedCalls = 0;
    output.onClosed(() => (closedCalls += 1));
    const chunk = `${'x'.repeat(1023)}\n`;

    let failure: unknown;
    await output.write(chunk); // head reads its byte and exits
    await pipe.exited;
    try {
      for (let i = 0; i < 10_000; i += 1) await output.write(chunk);
    } catch (error) {
      failure = error;
    }

    expect(failure).toBeInstanceOf(OutputClosed);
    expect((failure as OutputClosed).readerGone).toBe(true);
    expect(output.closed).toBe(true);
    await expect(output.write('more\n')).rejects.toBeInstanceOf(OutputClosed);
    output.line('a line nobody reads'); // dropped, not thrown
    await new Promise((resolve) => setImmediate(resolve));
    expect(closedCalls).toBe(1);
  });

  it('writes through while the reader reads', async () => {
    let received = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received += chunk.toString('utf8');
        done();
      },
    });
    const output = new StandardOutput(sink);

    await output.write('one\n');
    output.line('two');
    await new Promise((resolve) => setImmediate(resolve));
    output.release();

    expect(received).toBe('one\ntwo\n');
    expect(output.closed).toBe(false);
    expect(sink.listenerCount('error')).toBe(0);
  });

  it('tells a failed output that is not a closed pipe from one whose reader went away', async () => {
    const failing = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('i/o error'), { code: 'EIO' }));
      },
    });
    const output = new StandardOutput(failing);

    const failure = await output.write('x').catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OutputClosed);
    expect((failure as OutputClosed).readerGone).toBe(false);
    expect((failure as OutputClosed).message).toBe('cannot write to standard output (EIO)');
  });
});
