import { AlertNotification, AlertSink } from '../../app/ports';
import { ChatSink, ChatSinkOptions } from './httpSinkPost';

export type SlackSinkOptions = ChatSinkOptions;

/** Slack's limit on a header block's text. */
const HEADER_MAX = 150;

/**
 * A Slack channel through an incoming webhook. The channel gets one message per notification:
 * `text`, a one-line fallback that notifications and old clients show, and Block Kit blocks: a
 * header such as "CRITICAL · certificate-expiring · raised", the summary, and fields: rule,
 * severity, status, the hub and device (or, for a fleet alert, how many devices and a sample of
 * them), the certificate's expiry, when the alert was raised and its id. `&`, `<` and `>` are
 * escaped wherever text is read as mrkdwn, so nothing in a summary or an id becomes a link or a
 * mention.
 */
export class SlackSink extends ChatSink implements AlertSink {
  readonly name = 'slack';

  constructor(options: SlackSinkOptions) {
    super(options, 'slack');
  }

  protected messageOf(notification: AlertNotification): object {
    return slackMessage(notification);
  }
}

export function slackMessage(n: AlertNotification): object {
  const title = titleOf(n);
  return {
    text: escapeMrkdwn(`${title}: ${oneLine(n.summary)}`),
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: false },
      },
      { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(n.summary) } },
      { type: 'section', fields: fieldsOf(n) },
    ],
  };
}

/** Slack's own escaping for mrkdwn: the three characters that open links and mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function titleOf(n: AlertNotification): string {
  const title = `${n.severity.toUpperCase()} · ${n.rule} · ${n.status}`;
  return n.test ? `${title} (test)` : title;
}

/** Up to ten mrkdwn fields (Slack's limit); ids in code spans so `_` and `*` stay literal. */
function fieldsOf(n: AlertNotification): { type: 'mrkdwn'; text: string }[] {
  const fields: [string, string | undefined][] = [
    ['Rule', n.rule],
    ['Severity', n.severity],
    ['Status', n.status],
    ['Hub', code(n.hub)],
    ['Device', code(n.deviceId)],
    ['Devices', n.count === undefined ? undefined : String(n.count)],
    ['Sample', n.sample?.length ? n.sample.map((s) => code(s)).join(', ') : undefined],
    ['Valid until', n.validUntil],
    ['Raised at', n.raisedAt],
    ['Alert id', code(n.alertId)],
  ];
  return fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([label, value]) => ({ type: 'mrkdwn', text: `*${label}*\n${escapeMrkdwn(value)}` }));
}

function code(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `\`${text.replace(/`/g, "'")}\``;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
