import { LOCAL_DEVELOPMENT_POLICY } from '../../shared/config/iotHubSettings';
import { Clock, isoUtc } from '../../shared/domain/Clock';
import { RenewalRequest } from '../../shared/domain/renewal/MethodOutcome';
import { StandInAnswer, StandInIotHub } from '../../shared/local/StandInIotHub';

/**
 * A fleet of scripted devices behind the stand-in IoT Hub (shared/local/StandInIotHub.ts),
 * reached by certfleet's real IoT Hub adapter through CERTFLEET_IOTHUB_ENDPOINT. It checks the
 * adapter's SAS tokens (the local development policy, expiry on the test's clock) and logs
 * every direct-method call with the clock time it arrived at.
 */
export interface FleetCall {
  hub: string;
  deviceId: string;
  methodName: string;
  payload: RenewalRequest;
  /** The clock's time when the call reached the hub. */
  at: string;
  /** What the stand-in answered: 200 when the device answered, else IoT Hub's error status. */
  status: number;
}

/** What a device answers when asked; the test changes it as the story goes on. */
export type DeviceBehaviour = (hub: string, deviceId: string) => StandInAnswer;

export const ACCEPTS: StandInAnswer = { device: { status: 202, payload: { renewing: true } } };
/** The device answers, but will not renew (e.g. busy with a firmware update). */
export const REFUSES: StandInAnswer = { device: { status: 409, payload: { busy: true } } };

export class StandInFleet {
  readonly calls: FleetCall[] = [];
  behaviour: DeviceBehaviour = () => ACCEPTS;
  url = '';
  private readonly hub: StandInIotHub;

  /** `onCall` runs as each call arrives, before it is answered. */
  constructor(clock: Clock, onCall: (hub: string, deviceId: string) => void = () => undefined) {
    this.hub = new StandInIotHub(
      (hub, deviceId, methodName, payload) => {
        const answer = this.behaviour(hub, deviceId);
        this.calls.push({
          hub,
          deviceId,
          methodName,
          payload: payload as RenewalRequest,
          at: isoUtc(clock.now()),
          status: statusOf(answer),
        });
        onCall(hub, deviceId);
        return answer;
      },
      {
        sharedAccessKeys: { [LOCAL_DEVELOPMENT_POLICY.keyName]: LOCAL_DEVELOPMENT_POLICY.key },
        now: () => clock.now(),
      },
    );
  }

  async start(): Promise<this> {
    ({ url: this.url } = await this.hub.start());
    return this;
  }

  stop(): Promise<void> {
    return this.hub.stop();
  }

  callsTo(deviceId: string, hub?: string): FleetCall[] {
    return this.calls.filter((c) => c.deviceId === deviceId && (!hub || c.hub === hub));
  }
}

function statusOf(answer: StandInAnswer): number {
  if (typeof answer === 'object') return 'device' in answer ? 200 : answer.httpStatus;
  return { offline: 404, 'not-found': 404, timeout: 504, throttled: 429 }[answer];
}
