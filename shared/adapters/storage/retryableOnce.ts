/**
 * Work done once per process and shared by every caller ("create the table/container on first
 * use"), unless it fails: then the next caller tries again.
 */
export interface RetryableOnce {
  (): Promise<void>;
  /**
   * Runs the work again now, because what it made is gone (a table or container deleted after
   * start-up); callers that find it gone at the same moment share one run.
   */
  again(): Promise<void>;
}

export function retryableOnce(work: () => Promise<void>): RetryableOnce {
  let done: Promise<void> | undefined;
  let redoing: Promise<void> | undefined;
  const once = (() => {
    done ??= work().catch((error: unknown) => {
      done = undefined;
      throw error;
    });
    return done;
  }) as RetryableOnce;
  once.again = () => {
    redoing ??= work().finally(() => {
      redoing = undefined;
    });
    return redoing;
  };
  return once;
}
