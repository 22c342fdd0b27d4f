import { ALERT_DELIVERY_FAILED_PREFIX } from '../../app/alerts/DeliverAlerts';
import { ALERT_LOG_PREFIX } from '../../app/alerts/AlertRelay';
import { AlertLog } from '../../app/ports';

/**
 * The alert log of a simulated run: kept, not printed. A 90-day run writes hundreds of
 * `CERTFLEET_ALERT` lines, which would bury the summary; the summary counts them instead, and
 * the lines stay here for a test or a debugger to read.
 */
export class CollectedAlertLog implements AlertLog {
  readonly lines: string[] = [];
  readonly errors: string[] = [];

  info(line: string): void {
    this.lines.push(line);
  }

  error(line: string): void {
    this.errors.push(line);
  }

  /** Transition lines, and failed-delivery lines, by their prefixes. */
  counts(): { alerts: number; deliveryFailures: number } {
    const all = [...this.lines, ...this.errors];
    return {
      alerts: all.filter((l) => l.startsWith(`${ALERT_LOG_PREFIX} `)).length,
      deliveryFailures: all.filter((l) => l.startsWith(`${ALERT_DELIVERY_FAILED_PREFIX} `)).length,
    };
  }
}
