import { TransientFault, WriteConflict } from './ports';

/** How many read-change-write rounds one change gets before it counts as a transient fault. */
export const MAX_WRITE_ATTEMPTS = 8;

/**
 * The optimistic write gave up: another writer changed the same thing every time. A
 * `TransientFault`, so an invocation that cannot do without the write fails and is retried by
 * the host; its own class, so a writer that can do without it (the audit outbox) gives up
 * quietly without also swallowing storage faults.
 */
export class KeptChanging extends TransientFault {}

/**
 * Runs `attempt` (read, decide, write under the ETag that was read) until it does not throw
 * `WriteConflict`: each conflict means someone else wrote first, so the next attempt reads and
 * decides again. `attempt` gets its number, from 1. After `MAX_WRITE_ATTEMPTS` conflicts,
 * throws `KeptChanging` saying that `what` kept changing. Any other error passes through.
 */
export async function retryOnWriteConflict<T>(
  what: string,
  attempt: (attemptNumber: number) => Promise<T>,
): Promise<T> {
  for (let attemptNumber = 1; attemptNumber <= MAX_WRITE_ATTEMPTS; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error;
    }
  }
  throw new KeptChanging(`${what} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`);
}
