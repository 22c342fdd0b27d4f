import { Writable } from 'node:stream';
import { listenStopSignals } from '../../shared/cli/listenStopSignals';
import { StandardOutput } from '../../shared/cli/StandardOutput';

/** An output whose reader goes away at the first write, as `certfleet listen | head -c 0`. */
function anOutputWhoseReaderLeaves(): StandardOutput {
  return new StandardOutput(
    new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    }),
  );
}

describe('listenStopSignals', () => {
  it('tells listen to stop, as SIGTERM does, once no one reads its output', async () => {
    const output = anOutputWhoseReaderLeaves();
    const heard: string[] = [];
    const before = process.listenerCount('SIGTERM');
    const signals = listenStopSignals(output);
    signals.once('SIGTERM', (signal: NodeJS.Signals) => heard.push(signal));

    output.line('listening to …');
    output.line('batch of 3 events …');
    await new Promise((resolve) => setImmediate(resolve));

    expect(heard).toEqual(['SIGTERM']);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('hears nothing once listen has stopped listening for SIGTERM', async () => {
    const output = anOutputWhoseReaderLeaves();
    const heard: string[] = [];
    const onTerm = (signal: NodeJS.Signals) => heard.push(signal);
    const before = process.listenerCount('SIGTERM');
    const signals = listenStopSignals(output);
    signals.once('SIGTERM', onTerm);
    signals.removeListener('SIGTERM', onTerm);

    output.line('stopped');
    await new Promise((resolve) => setImmediate(resolve));

    expect(heard).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
