/**
 * Fixes the system clock that the CLI plans by (its commands run on real time): Date only, so
 * timers, I/O and the Azurite calls stay real. Undo with `jest.useRealTimers()`.
 */
export function systemTimeIs(iso: string): void {
  jest.useFakeTimers({
    now: new Date(iso),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}
