import {
  AlertNotification,
  AlertSink,
  AlertSinkFailed,
  AlertSinkName,
} from '../../shared/app/ports';
import { Clock } from '../../shared/domain/Clock';

/**
 * A sink that keeps what it is sent, and can be down: until `downUntil` (by its clock) it
 * answers as an unreachable receiver would (retryable), or for ever with `downForEver`.
 */
export class RecordingAlertSink implements AlertSink {
  readonly received: AlertNotification[] = [];
  readonly attempts: { id: string; at: string; ok: boolean }[] = [];
  downUntil?: string;
  downForEver = false;

  constructor(
    readonly name: AlertSinkName,
    private readonly clock: Clock,
  ) {}

  async send(notification: AlertNotification): Promise<void> {
    const at = this.clock.now().toISOString();
    const down = this.downForEver || (this.downUntil !== undefined && at < this.downUntil);
    this.attempts.push({ id: notification.id, at, ok: !down });
    if (down) throw new AlertSinkFailed(`${this.name} sink answered 503`, true, { status: 503 });
    this.received.push(structuredClone(notification));
  }

  /** How often each notification id was received. */
  receivedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const n of this.received) counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
    return counts;
  }
}
