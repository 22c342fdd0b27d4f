/**
 * The CLI's standard output, which may be a pipe whose reader goes away (`certfleet devices |
 * head`). Node ignores SIGPIPE, so the next write fails with EPIPE and the stream emits an
 * 'error' that, unheard, ends the process with a stack trace. Watched here, the failure closes
 * the output: writes stop, `onClosed` listeners run once, and the command ends quietly, as a
 * Unix tool ends on SIGPIPE.
 */
export class StandardOutput {
  private failure?: NodeJS.ErrnoException;
  private readonly closedListeners: (() => void)[] = [];
  private readonly onError = (error: Error) => this.close(error);

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
  }

  /** Whether the output has failed: its reader went away, or the stream broke otherwise. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** The failure as an OutputClosed, once the output has closed. */
  get closedBy(): OutputClosed | undefined {
    return this.failure ? new OutputClosed(this.failure) : undefined;
  }

  /** Writes `text`, resolving once it is handed over; rejects with OutputClosed once closed. */
  write(text: string): Promise<void> {
    const closed = this.closedBy;
    if (closed) return Promise.reject(closed);
    return new Promise((resolve, reject) => {
      this.stream.write(text, (error?: Error | null) => {
        if (!error) return resolve();
        this.close(error);
        reject(this.closedBy ?? new OutputClosed(error)); // the first failure is the cause
      });
    });
  }

  /** Writes a line without waiting for it (progress lines); dropped once the output is closed. */
  line(text: string): void {
    this.write(`${text}\n`).catch(() => undefined);
  }

  /** Runs `listener` once when the output closes (at once if it has); returns how to cancel. */
  onClosed(listener: () => void): () => void {
    if (this.failure) {
      listener();
      return () => undefined;
    }
    this.closedListeners.push(listener);
    return () => {
      const at = this.closedListeners.indexOf(listener);
      if (at >= 0) this.closedListeners.splice(at, 1);
    };
  }

  /**
   * Stops watching the stream. A stream that failed stays watched: its 'error' event may still
   * be on its way, and heard by nobody it would end the process.
   */
  release(): void {
    if (!this.failure) this.stream.removeListener('error', this.onError);
  }

  private close(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const listener of this.closedListeners.splice(0)) listener();
  }
}

/** Writing to standard output failed; `readerGone` when the pipe's reader went away. */
export class OutputClosed extends Error {
  readonly readerGone: boolean;

  constructor(cause: NodeJS.ErrnoException) {
    const code = cause.code ?? cause.name;
    super(`cannot write to standard output (${code})`);
    this.name = 'OutputClosed';
    // EPIPE: the reader closed its end. ERR_STREAM_DESTROYED: a write after that failure.
    this.readerGone = code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
  }
}
