import { AlertNotification, AlertSink } from '../../app/ports';
import { ChatSink, ChatSinkOptions } from './httpSinkPost';

export type TeamsSinkOptions = ChatSinkOptions;

/**
 * A Teams channel through a Workflows webhook (Power Automate's "When a Teams webhook request
 * is received" trigger, which replaced the retired Office 365 connectors and accepts Adaptive
 * Cards only). The channel gets one Adaptive Card 1.4 per notification: a title such as
 * "CRITICAL · certificate-expiring · raised", coloured attention (critical), warning, or good
 * (resolved); the summary; and facts: rule, severity, status, the hub and device (or, for a
 * fleet alert, how many devices and a sample of them), the certificate's expiry, when the
 * alert was raised and its id.
 */
export class TeamsSink extends ChatSink implements AlertSink {
  readonly name = 'teams';

  constructor(options: TeamsSinkOptions) {
    super(options, 'teams');
  }

  protected messageOf(notification: AlertNotification): object {
    return teamsMessage(notification);
  }
}

/** The message envelope a Workflows webhook takes, around one Adaptive Card. */
export function teamsMessage(n: AlertNotification): object {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: titleOf(n),
              weight: 'Bolder',
              size: 'Medium',
              color: colourOf(n),
              wrap: true,
            },
            { type: 'TextBlock', text: n.summary, wrap: true },
            { type: 'FactSet', facts: factsOf(n) },
          ],
        },
      },
    ],
  };
}

function titleOf(n: AlertNotification): string {
  const title = `${n.severity.toUpperCase()} · ${n.rule} · ${n.status}`;
  return n.test ? `${title} (test)` : title;
}

function colourOf(n: AlertNotification): 'Good' | 'Attention' | 'Warning' {
  if (n.status === 'resolved') return 'Good';
  return n.severity === 'critical' ? 'Attention' : 'Warning';
}

function factsOf(n: AlertNotification): { title: string; value: string }[] {
  const facts: [string, string | number | undefined][] = [
    ['Rule', n.rule],
    ['Severity', n.severity],
    ['Status', n.status],
    ['Hub', n.hub],
    ['Device', n.deviceId],
    ['Devices', n.count],
    ['Sample', n.sample?.length ? n.sample.join(', ') : undefined],
    ['Valid until', n.validUntil],
    ['Raised at', n.raisedAt],
    ['Alert id', n.alertId],
  ];
  return facts
    .filter((f): f is [string, string | number] => f[1] !== undefined)
    .map(([title, value]) => ({ title, value: String(value) }));
}
