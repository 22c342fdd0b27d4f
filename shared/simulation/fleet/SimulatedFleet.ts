import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';
import { DeviceMethods } from '../../app/ports';
import { ManualClock } from '../../domain/Clock';
import { DeviceKey, normalizeHubName } from '../../domain/DeviceKey';
import { MethodOutcome, RenewalRequest } from '../../domain/renewal/MethodOutcome';
import { FleetOptions, planProfiles, validateFleetOptions } from './FleetOptions';
import { SeededRandom } from './SeededRandom';
import { DeviceAction, DeviceWorld, SimulatedDevice } from './SimulatedDevice';
import { DpsRegistrationResult, StandInDps } from './StandInDps';
import { VirtualTime } from './VirtualTime';

interface Scheduled {
  at: number;
  order: number;
  device: SimulatedDevice;
  action: DeviceAction;
}

interface Routed {
  at: number;
  order: number;
  message: RawIotHubMessage;
}

/**
 * A fleet of simulated devices behind one IoT Hub, with its stand-in DPS. It is certfleet's
 * `DeviceMethods` port, as the IoT Hub adapter is: a direct-method call reaches the device,
 * which answers as a real one would (offline 404103, refused 409, accepted 202, no answer in
 * time 504101). What the devices do (onboarding, connecting, renewing, reporting) happens in
 * virtual time, in order, and reaches certfleet as the events IoT Hub routes to Event Hubs,
 * collected here until the run delivers them (`takeMessages`).
 *
 * Pass `sleep` as the services' sleep and the fleet as their `methods` (buildServices), and
 * the run's ManualClock to both: the sweep's paced calls then happen at their virtual times,
 * one after another, as in real time (VirtualTime).
 */
export class SimulatedFleet implements DeviceMethods, DeviceWorld {
  readonly devices: readonly SimulatedDevice[];
  readonly time: VirtualTime;
  readonly hub: string;
  private readonly byId = new Map<string, SimulatedDevice>();
  private readonly queue: Scheduled[] = [];
  private readonly outbox: Routed[] = [];
  private order = 0;
  /** One caller plays the world at a time. */
  private playing: Promise<unknown> = Promise.resolve();
  /** The time of the action being played (DPS's clock). */
  private deviceTime: number;

  private constructor(
    readonly options: FleetOptions,
    readonly clock: ManualClock,
    readonly dps: StandInDps,
    devices: SimulatedDevice[],
    private readonly dpsTime: { at: number },
  ) {
    this.time = new VirtualTime(clock);
    this.hub = normalizeHubName(options.hub);
    this.devices = devices;
    for (const device of devices) this.byId.set(device.deviceId.toLowerCase(), device);
    this.deviceTime = clock.now().getTime();
    for (const device of devices) device.start(this);
  }

  /** Plans the fleet from the options and sets up its DPS (a root and an issuing CA a policy). */
  static async create(options: FleetOptions, clock: ManualClock): Promise<SimulatedFleet> {
    const problems = validateFleetOptions(options);
    if (problems.length > 0) throw new RangeError(`fleet options: ${problems.join('; ')}`);
    const dpsTime = { at: clock.now().getTime() };
    const dps = await StandInDps.create({
      clock: { now: () => new Date(dpsTime.at) },
      policies: options.policies.map((p) => ({
        name: p.name,
        leafValidityDays: p.leafValidityDays,
      })),
      registrationsPerMinute: options.dpsRegistrationsPerMinute,
      caName: 'Simulated Fleet',
    });
    for (const outage of options.dpsOutages) dps.down(outage.from, outage.until);
    const devices = planProfiles(options).map((profile) => {
      dps.enroll(profile.deviceId, profile.policy);
      return new SimulatedDevice(profile, SeededRandom.stream(options.seed, profile.deviceId));
    });
    return new SimulatedFleet(options, clock, dps, devices, dpsTime);
  }

  /** Pass as the services' `sleep`. */
  get sleep(): (ms: number) => Promise<void> {
    return this.time.sleep;
  }

  /**
   * The certfleet settings this fleet needs: its DPS root as the trust bundle, and its
   * renewal rate.
   */
  get environment(): Record<string, string> {
    return {
      CERTFLEET_TRUST_BUNDLE: this.dps.trustBundlePem,
      CERTFLEET_RENEWALS_PER_MINUTE: String(this.options.renewalsPerMinute),
    };
  }

  device(deviceId: string): SimulatedDevice | undefined {
    return this.byId.get(deviceId.toLowerCase());
  }

  /** certfleet's direct method: the device answers at the clock's time. */
  requestRenewal(key: DeviceKey, request: RenewalRequest): Promise<MethodOutcome> {
    return this.time.track(async () => {
      const now = this.clock.now().getTime();
      // The world has happened up to the call (a window closed, a certificate expired), and
      // the device answers in turn with whatever else plays it.
      const answered = this.playing.then(async (): Promise<MethodOutcome> => {
        await this.play(now);
        const device = this.byId.get(key.deviceId.toLowerCase());
        if (!device || normalizeHubName(key.hub) !== this.hub) {
          return { kind: 'not-found', errorCode: 404001 };
        }
        return device.answer(request, now, this);
      });
      this.playing = answered.catch(() => undefined);
      return answered;
    });
  }

  /** When the next device action happens; undefined: none is scheduled. */
  nextActionAt(): number | undefined {
    return this.queue[0]?.at;
  }

  /** When the earliest routed event not yet delivered happened. */
  nextMessageAt(): number | undefined {
    return this.outbox[0]?.at;
  }

  /** Plays every device action up to `t`, in time order (then in the order scheduled). */
  advanceTo(t: number): Promise<void> {
    const played = this.playing.then(() => this.play(t));
    this.playing = played.catch(() => undefined);
    return played;
  }

  private async play(t: number): Promise<void> {
    for (;;) {
      const next = this.queue[0];
      if (!next || next.at > t) break;
      popHeap(this.queue);
      this.deviceTime = Math.max(this.deviceTime, next.at);
      this.dpsTime.at = this.deviceTime;
      await next.device.act(next.action, this.deviceTime, this);
    }
    this.deviceTime = Math.max(this.deviceTime, t);
  }

  /** The routed events that happened up to `until`, in the order they happened. */
  takeMessages(until: number, max = Number.POSITIVE_INFINITY): RawIotHubMessage[] {
    let n = 0;
    while (n < this.outbox.length && n < max && this.outbox[n]!.at <= until) n += 1;
    return this.outbox.splice(0, n).map((r) => r.message);
  }

  // DeviceWorld

  register(registrationId: string, csr: string): Promise<DpsRegistrationResult> {
    return this.dps.register(registrationId, csr);
  }

  schedule(at: number, device: SimulatedDevice, action: DeviceAction): void {
    pushHeap(this.queue, {
      at: Math.max(at, this.deviceTime),
      order: this.order++,
      device,
      action,
    });
  }

  emit(at: number, message: RawIotHubMessage): void {
    const routed = { at, order: this.order++, message };
    // Events are emitted nearly in order: insert from the end.
    let i = this.outbox.length;
    while (i > 0 && this.outbox[i - 1]!.at > at) i -= 1;
    this.outbox.splice(i, 0, routed);
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

function pushHeap(heap: Scheduled[], item: Scheduled): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function popHeap(heap: Scheduled[]): Scheduled | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
