import { ListenDependencies } from './listen';
import { StandardOutput } from './StandardOutput';

type Listener = (signal: NodeJS.Signals) => void;

/**
 * What stops `certfleet listen`: SIGINT and SIGTERM from the process, and its output closing
 * (`certfleet listen | head`), heard as SIGTERM: with no one left to read its lines it stops as
 * asked to, releasing its partitions, instead of listening on unread.
 */
export function listenStopSignals(output: StandardOutput): ListenDependencies['signals'] {
  const cancels = new Map<Listener, () => void>();
  const signals = {
    once(event: NodeJS.Signals, listener: Listener) {
      process.once(event, listener);
      if (event === 'SIGTERM') {
        const cancel = output.onClosed(() => {
          signals.removeListener(event, listener);
          listener('SIGTERM');
        });
        cancels.set(listener, cancel);
      }
      return signals;
    },
    removeListener(event: NodeJS.Signals, listener: Listener) {
      process.removeListener(event, listener);
      cancels.get(listener)?.();
      cancels.delete(listener);
      return signals;
    },
  };
  // Only once and removeListener of the process are used (ListenDependencies).
  return signals as unknown as ListenDependencies['signals'];
}
