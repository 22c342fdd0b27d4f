import { createHmac } from 'node:crypto';
import { AlertNotification, AlertSink } from '../../app/ports';
import { httpSinkPost, sinkSite } from './httpSinkPost';

export interface WebhookSinkOptions {
  url: string;
  /** Signs each body when set (`X-Certfleet-Signature`). */
  secret?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * A generic webhook. The receiver gets a POST whose JSON body is the notification itself
 * (id, alertId, rule, severity, status, scope, summary, raisedAt, at, and hub, deviceId,
 * validUntil, count, sample, test when present), with `Idempotency-Key: <id>` to deduplicate
 * on (a retry sends the same id and the same bytes) and `X-Certfleet-Event: <status>`.
 *
 * With a secret, `X-Certfleet-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body
 * bytes under the secret. A receiver verifies by recomputing the HMAC over the raw body as
 * received, before parsing or re-serialising it, and comparing the two in constant time
 * (`crypto.timingSafeEqual` in Node, `hmac.compare_digest` in Python). The notification's `at`
 * dates it; a receiver that wants replay protection rejects ids it has already seen.
 */
export class WebhookSink implements AlertSink {
  readonly name = 'webhook';
  private readonly url: string;
  private readonly secret: string | undefined;
  private readonly timeoutMs: number | undefined;
  private readonly fetch: typeof fetch | undefined;

  constructor(options: WebhookSinkOptions) {
    sinkSite(options.url, this.name);
    this.url = options.url;
    this.secret = options.secret || undefined;
    this.timeoutMs = options.timeoutMs;
    this.fetch = options.fetch;
  }

  async send(notification: AlertNotification): Promise<void> {
    const body = JSON.stringify(webhookBody(notification));
    const headers: Record<string, string> = {
      'Idempotency-Key': notification.id,
      'X-Certfleet-Event': notification.status,
    };
    if (this.secret) headers['X-Certfleet-Signature'] = signatureOf(body, this.secret);
    await httpSinkPost(this.url, body, headers, {
      sink: this.name,
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
      ...(this.fetch ? { fetch: this.fetch } : {}),
    });
  }
}

/** `sha256=` and the hex HMAC-SHA256 of the body's UTF-8 bytes. */
export function signatureOf(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * The notification's own fields in a fixed order, and nothing else: a field added to the
 * object by a caller does not reach the receiver by accident.
 */
function webhookBody(n: AlertNotification): AlertNotification {
  return {
    id: n.id,
    alertId: n.alertId,
    rule: n.rule,
    severity: n.severity,
    status: n.status,
    scope: n.scope,
    summary: n.summary,
    raisedAt: n.raisedAt,
    at: n.at,
    hub: n.hub,
    deviceId: n.deviceId,
    validUntil: n.validUntil,
    count: n.count,
    sample: n.sample,
    test: n.test,
  };
}
