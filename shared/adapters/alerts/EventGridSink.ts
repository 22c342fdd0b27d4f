import {
  AzureKeyCredential,
  EventGridPublisherClient,
  EventGridPublisherClientOptions,
  SendCloudEventInput,
} from '@azure/eventgrid';
import { TokenCredential } from '@azure/identity';
import { AlertNotification, AlertSink, AlertSinkFailed } from '../../app/ports';
import { DEFAULT_SINK_TIMEOUT_MS, failureForStatus, sinkSite } from './httpSinkPost';

export type EventGridSinkOptions = {
  /** The topic endpoint, `https://<topic>.<region>-1.eventgrid.azure.net/api/events`. */
  endpoint: string;
  timeoutMs?: number;
  /** Passed to the SDK client, for a test's trust in a local TLS certificate. */
  clientOptions?: EventGridPublisherClientOptions;
} & ({ key: string } | { credential: TokenCredential });

/** Event types named the way Key Vault names its own (`Microsoft.KeyVault.CertificateNearExpiry`). */
const TYPES_BY_RULE: Readonly<Record<string, string>> = {
  'certificate-expiring': 'Certfleet.CertificateNearExpiry',
  'certificate-expired': 'Certfleet.CertificateExpired',
  'renewal-overdue': 'Certfleet.RenewalOverdue',
  'renewal-failed': 'Certfleet.RenewalFailed',
  'device-silent': 'Certfleet.DeviceSilent',
  'common-name-mismatch': 'Certfleet.SecurityFinding',
  'chain-untrusted': 'Certfleet.SecurityFinding',
  'private-key-reported': 'Certfleet.SecurityFinding',
  'key-not-rotated': 'Certfleet.SecurityFinding',
  'certificate-changed-unexpectedly': 'Certfleet.SecurityFinding',
  'renewals-throttled': 'Certfleet.RenewalsPaused',
  'issuer-outage': 'Certfleet.RenewalsPaused',
  'service-error': 'Certfleet.RenewalsPaused',
  'ca-expiring': 'Certfleet.CaNearExpiry',
  'renewal-capacity': 'Certfleet.RenewalCapacity',
  'rotation-deadline-at-risk': 'Certfleet.RotationAtRisk',
  digest: 'Certfleet.Digest',
};

/** @azure/identity's errors: no token could be had. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);

/**
 * An Event Grid topic (CloudEvents 1.0 schema), for anything that subscribes: Logic Apps,
 * Functions, an ITSM connector. Subscribers get one CloudEvent per notification: `type` by rule
 * (`Certfleet.CertificateNearExpiry`, `.CertificateExpired`, `.RenewalOverdue`,
 * `.RenewalFailed`, `.DeviceSilent`, `.SecurityFinding`, `.RenewalsPaused`, `.CaNearExpiry`,
 * `.RenewalCapacity`, `.Digest`), `Certfleet.AlertResolved` when an
 * alert resolves, `Certfleet.Test` for a test and `Certfleet.Alert` for any other rule, so a
 * subscription filters on type alone; `source` `/certfleet/hubs/<hub>/devices/<deviceId>` for a
 * device alert, `/certfleet/fleet` otherwise; `subject` the rule; `id` the notification's id,
 * to deduplicate on; `time` the transition's; and the notification itself as JSON `data`.
 * Authenticates with the topic's access key or with Entra ID (the "EventGrid Data Sender"
 * role).
 */
export class EventGridSink implements AlertSink {
  readonly name = 'eventgrid';
  private readonly client: EventGridPublisherClient<'CloudEvent'>;
  private readonly site: string;
  private readonly timeoutMs: number;

  constructor(options: EventGridSinkOptions) {
    this.site = sinkSite(options.endpoint, this.name);
    // Topic endpoints are HTTPS; the SDK would refuse plain HTTP later, quoting the URL.
    if (!options.endpoint.toLowerCase().startsWith('https://'))
      throw new Error(`${this.site}: the endpoint must be https`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SINK_TIMEOUT_MS;
    const credential = 'key' in options ? new AzureKeyCredential(options.key) : options.credential;
    this.client = new EventGridPublisherClient(options.endpoint, 'CloudEvent', credential, {
      // The notification outbox retries, at its own pace and across restarts; SDK retries
      // inside one attempt would only stretch it past the timeout.
      retryOptions: { maxRetries: 0 },
      ...options.clientOptions,
    });
  }

  async send(notification: AlertNotification): Promise<void> {
    try {
      await this.client.send([cloudEventOf(notification)], {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.failureOf(error);
    }
  }

  /**
   * Status, code and error name only: the SDK's messages may quote the endpoint, and its
   * errors carry the request with the key in its headers, so none is kept as a cause.
   */
  private failureOf(error: unknown): AlertSinkFailed {
    const e = error as {
      name?: string;
      code?: unknown;
      statusCode?: number;
      response?: { headers?: { get(name: string): string | undefined } };
    };
    if (typeof e?.statusCode === 'number')
      return failureForStatus(this.site, e.statusCode, e.response?.headers?.get('retry-after'));
    if (e?.name === 'AbortError')
      return new AlertSinkFailed(
        `${this.site}: no answer within ${this.timeoutMs} ms (will retry)`,
        true,
      );
    if (e?.name === 'RestError')
      return new AlertSinkFailed(
        `${this.site}: network error ${typeof e.code === 'string' ? e.code : 'unknown'} (will retry)`,
        true,
      );
    const name = e?.name ?? 'Error';
    // No identity here at all is configuration; a token service that failed may recover.
    if (name === 'CredentialUnavailableError')
      return new AlertSinkFailed(`${this.site}: no Entra ID token (${name}; not retried)`, false);
    if (CREDENTIAL_ERRORS.has(name))
      return new AlertSinkFailed(`${this.site}: no Entra ID token (${name}; will retry)`, true);
    return new AlertSinkFailed(`${this.site}: failed (${name}; will retry)`, true);
  }
}

/** The CloudEvent a notification becomes (the SDK adds `specversion` 1.0). */
export function cloudEventOf(n: AlertNotification): SendCloudEventInput<AlertNotification> {
  return {
    type: eventTypeOf(n),
    source: sourceOf(n),
    subject: n.rule,
    id: n.id,
    time: new Date(n.at),
    datacontenttype: 'application/json',
    data: n,
  };
}

export function eventTypeOf(n: AlertNotification): string {
  if (n.test) return 'Certfleet.Test';
  if (n.status === 'resolved') return 'Certfleet.AlertResolved';
  return TYPES_BY_RULE[n.rule] ?? 'Certfleet.Alert';
}

function sourceOf(n: AlertNotification): string {
  if (n.scope === 'device' && n.hub !== undefined && n.deviceId !== undefined)
    return `/certfleet/hubs/${encodeURIComponent(n.hub)}/devices/${encodeURIComponent(n.deviceId)}`;
  return '/certfleet/fleet';
}
