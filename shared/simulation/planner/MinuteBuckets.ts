/**
 * Devices filed by minute (a bucket queue): the planner's renewals by due minute, or its retries
 * by the minute they may be made. Counting a minute is one array read, which is what lets the
 * planner walk its whole horizon every minute; a bucket is sorted only when the planner needs
 * its order (a minute it pulls forward for capacity) and stays sorted as devices leave it.
 */
export class MinuteBuckets {
  private readonly lists: (number[] | undefined)[];
  private readonly counts: Int32Array;
  private readonly sorted: Uint8Array;

  constructor(readonly minutes: number) {
    this.lists = new Array<number[] | undefined>(minutes);
    this.counts = new Int32Array(minutes);
    this.sorted = new Uint8Array(minutes);
  }

  count(minute: number): number {
    return this.counts[minute]!;
  }

  add(minute: number, device: number): void {
    const list = this.lists[minute];
    if (list) list.push(device);
    else this.lists[minute] = [device];
    this.counts[minute] = this.counts[minute]! + 1;
    this.sorted[minute] = 0;
  }

  remove(minute: number, device: number): void {
    const list = this.lists[minute];
    const at = list ? list.indexOf(device) : -1;
    if (!list || at < 0) throw new Error(`device ${device} is not filed at minute ${minute}`);
    if (this.sorted[minute]) list.splice(at, 1);
    else {
      // Unsorted: the last one takes its place.
      list[at] = list[list.length - 1]!;
      list.pop();
    }
    this.counts[minute] = this.counts[minute]! - 1;
  }

  /** Empties the minute's bucket and returns what it held. */
  take(minute: number): readonly number[] {
    const list = this.lists[minute] ?? [];
    this.lists[minute] = undefined;
    this.counts[minute] = 0;
    return list;
  }

  /** The minute's devices in `order`; the array is the bucket's own: read it, do not keep it. */
  inOrder(minute: number, order: (a: number, b: number) => number): readonly number[] {
    const list = this.lists[minute] ?? [];
    if (!this.sorted[minute]) {
      list.sort(order);
      this.sorted[minute] = 1;
    }
    return list;
  }
}
