/**
 * What happens to which device in which minute: one singly linked list per minute, held in
 * typed arrays (a million devices keep a few million events pending), in the order the events
 * were scheduled, so a run is the same every time. Freed entries are reused.
 */
export class MinuteEventQueue {
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private next = new Int32Array(1024);
  private device = new Int32Array(1024);
  private epoch = new Int32Array(1024);
  private kind = new Uint8Array(1024);
  private free = -1;
  private used = 0;

  /** Events at or after `minutes` are dropped: they fall outside the simulation. */
  constructor(readonly minutes: number) {
    this.head = new Int32Array(minutes).fill(-1);
    this.tail = new Int32Array(minutes).fill(-1);
  }

  /**
   * `epoch` is whatever the handler needs to tell a stale event from a live one (the device's
   * certificate or attempt counter when the event was scheduled).
   */
  schedule(minute: number, kind: number, device: number, epoch: number): void {
    if (minute < 0 || minute >= this.minutes) return;
    const entry = this.allocate();
    this.next[entry] = -1;
    this.device[entry] = device;
    this.epoch[entry] = epoch;
    this.kind[entry] = kind;
    const last = this.tail[minute]!;
    if (last < 0) this.head[minute] = entry;
    else this.next[last] = entry;
    this.tail[minute] = entry;
  }

  /** Calls `handle` for each event of the minute, in order, including any it schedules then. */
  drain(minute: number, handle: (kind: number, device: number, epoch: number) => void): void {
    let entry = this.head[minute]!;
    while (entry >= 0) {
      handle(this.kind[entry]!, this.device[entry]!, this.epoch[entry]!);
      const following = this.next[entry]!;
      this.next[entry] = this.free;
      this.free = entry;
      entry = following;
    }
    this.head[minute] = -1;
    this.tail[minute] = -1;
  }

  private allocate(): number {
    if (this.free >= 0) {
      const entry = this.free;
      this.free = this.next[entry]!;
      return entry;
    }
    if (this.used === this.next.length) this.grow();
    const entry = this.used;
    this.used += 1;
    return entry;
  }

  private grow(): void {
    const size = this.next.length * 2;
    const grown = <T extends Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const copy = make(size);
      copy.set(old);
      return copy;
    };
    this.next = grown(this.next, (n) => new Int32Array(n));
    this.device = grown(this.device, (n) => new Int32Array(n));
    this.epoch = grown(this.epoch, (n) => new Int32Array(n));
    this.kind = grown(this.kind, (n) => new Uint8Array(n));
  }
}
