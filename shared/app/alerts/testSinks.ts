import { createHash } from 'node:crypto';
import { AlertNotification, AlertSink, AlertSinkFailed, AlertSinkName } from '../ports';

export interface SinkTestResult {
  sink: AlertSinkName;
  ok: boolean;
  /** Why it failed: the sink's own message (never a URL's path, a key or a body). */
  detail?: string;
  retryable?: boolean;
}

/**
 * `certfleet alerts test`: one test notification to every configured sink, now, outside the
 * outbox, and each sink's answer. The notification says it is a test (`test: true`, rule `test`),
 * so receivers and automations can tell it from an alert.
 */
export async function testSinks(
  sinks: readonly AlertSink[],
  now: string,
): Promise<SinkTestResult[]> {
  const id = createHash('sha256').update(`certfleet test ${now}`).digest('hex').slice(0, 32);
  const notification: AlertNotification = {
    id,
    alertId: id,
    rule: 'test',
    severity: 'warning',
    status: 'raised',
    scope: 'fleet',
    summary: `A test notification from certfleet at ${now}: this sink is configured and reachable.`,
    raisedAt: now,
    at: now,
    test: true,
  };
  return Promise.all(
    sinks.map(async (sink): Promise<SinkTestResult> => {
      try {
        await sink.send(notification);
        return { sink: sink.name, ok: true };
      } catch (error) {
        return error instanceof AlertSinkFailed
          ? { sink: sink.name, ok: false, detail: error.message, retryable: error.retryable }
          : { sink: sink.name, ok: false, detail: error instanceof Error ? error.name : 'failed' };
      }
    }),
  );
}
