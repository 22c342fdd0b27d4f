/**
 * Runs `work` once and shares its promise, unless it fails: then the next caller tries again.
 * For "create the table/container on first use", once per process.
 */
export function retryableOnce(work: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= work().catch((error: unknown) => {
      done = undefined;
      throw error;
    });
    return done;
  };
}
