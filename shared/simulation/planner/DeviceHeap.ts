/**
 * A binary min-heap of device numbers that can also remove any device it holds: the planner's
 * overdue renewals, earliest expiry first. Positions are kept in a typed array, so a million
 * devices cost two Int32Arrays and no object each.
 */
export class DeviceHeap {
  private readonly items: Int32Array;
  private readonly position: Int32Array;
  private count = 0;

  /** `before(a, b)`: whether device `a` comes out before device `b`. A strict total order. */
  constructor(
    devices: number,
    private readonly before: (a: number, b: number) => boolean,
  ) {
    this.items = new Int32Array(devices);
    this.position = new Int32Array(devices).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  has(device: number): boolean {
    return this.position[device]! >= 0;
  }

  /** The first device, or -1 when empty. */
  peek(): number {
    return this.count > 0 ? this.items[0]! : -1;
  }

  push(device: number): void {
    this.place(device, this.count);
    this.count += 1;
    this.siftUp(this.count - 1);
  }

  /** Removes and returns the first device (-1 when empty). */
  pop(): number {
    const first = this.peek();
    if (first >= 0) this.remove(first);
    return first;
  }

  remove(device: number): void {
    const at = this.position[device]!;
    if (at < 0) return;
    this.position[device] = -1;
    this.count -= 1;
    if (at === this.count) return;
    // The last device fills the hole, then moves up or down to where it belongs.
    const moved = this.items[this.count]!;
    this.place(moved, at);
    this.siftUp(at);
    this.siftDown(this.position[moved]!);
  }

  private place(device: number, at: number): void {
    this.items[at] = device;
    this.position[device] = at;
  }

  private siftUp(from: number): void {
    let at = from;
    const device = this.items[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = this.items[parent]!;
      if (!this.before(device, above)) break;
      this.place(above, at);
      at = parent;
    }
    this.place(device, at);
  }

  private siftDown(from: number): void {
    let at = from;
    const device = this.items[at]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= this.count) break;
      const right = left + 1;
      const child =
        right < this.count && this.before(this.items[right]!, this.items[left]!) ? right : left;
      const below = this.items[child]!;
      if (!this.before(below, device)) break;
      this.place(below, at);
      at = child;
    }
    this.place(device, at);
  }
}
