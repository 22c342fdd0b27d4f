import { AlertSinkFailed } from '../../../shared/app/ports';
import { escapeMrkdwn, SlackSink } from '../../../shared/adapters/alerts/SlackSink';
import { aDeviceNotification, aFleetNotification } from './notifications';
import { recordingServer, RecordingServer } from '../../support/recordingServer';

/**
 * The Slack sink against a real loopback receiver standing in for an incoming webhook: a
 * fallback text and Block Kit blocks, mrkdwn escaped, and failures that never quote the
 * webhook's secret path.
 */

const HOOK_PATH = '/services/T00000000/B00000000/XXsl4ckS3cretXXXXXXXXXXX';

interface Block {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
}
interface SlackMessage {
  text: string;
  blocks: Block[];
}

describe('SlackSink', () => {
  let server: RecordingServer;
  let sink: SlackSink;

  beforeAll(async () => {
    server = await recordingServer();
    sink = new SlackSink({ url: `${server.origin}${HOOK_PATH}` });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.answerWith({ status: 200, body: 'ok' });
  });

  function sentMessage(): SlackMessage {
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
    return JSON.parse(server.requests[0]?.body ?? '') as SlackMessage;
  }

  function fieldTexts(message: SlackMessage): string[] {
    return message.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
  }

  it('is named slack', () => {
    expect(sink.name).toBe('slack');
  });

  it('posts a one-line fallback text, a header, the summary and the facts as mrkdwn fields', async () => {
    const notification = aDeviceNotification();

    await sink.send(notification);

    const message = sentMessage();
    expect(message.text).toBe(`CRITICAL · certificate-expiring · raised: ${notification.summary}`);
    expect(message.text).not.toContain('\n');
    expect(message.blocks.map((b) => b.type)).toStrictEqual(['header', 'section', 'section']);
    expect(message.blocks[0]?.text).toStrictEqual(
      expect.objectContaining({
        type: 'plain_text',
        text: 'CRITICAL · certificate-expiring · raised',
      }),
    );
    expect(message.blocks[1]?.text).toStrictEqual({ type: 'mrkdwn', text: notification.summary });
    expect(message.blocks[2]?.fields?.every((f) => f.type === 'mrkdwn')).toBe(true);
    expect(fieldTexts(message)).toStrictEqual([
      '*Rule*\ncertificate-expiring',
      '*Severity*\ncritical',
      '*Status*\nraised',
      '*Hub*\n`hub-a`',
      '*Device*\n`dev-42`',
      '*Valid until*\n2026-03-04T00:00:00.000Z',
      '*Raised at*\n2026-03-01T10:00:00.000Z',
      `*Alert id*\n\`${notification.alertId}\``,
    ]);
  });

  it('gives a fleet alert’s count and sample', async () => {
    await sink.send(aFleetNotification());

    const fields = fieldTexts(sentMessage());
    expect(fields).toContain('*Devices*\n240');
    expect(fields).toContain('*Sample*\n`hub-a/dev-001`, `hub-a/dev-002`, `hub-b/dev-003`');
    expect(fields.some((f) => f.startsWith('*Device*'))).toBe(false);
  });

  it('escapes &, < and > wherever text is read as mrkdwn', async () => {
    await sink.send(
      aDeviceNotification({
        summary: 'Device <script>alert(1)</script> & <!channel> said <https://evil.example|click>',
        deviceId: 'dev<@U123>&',
      }),
    );

    const message = sentMessage();
    const mrkdwn = [message.text, message.blocks[1]?.text?.text ?? '', ...fieldTexts(message)];
    for (const text of mrkdwn) {
      expect(text).not.toMatch(/[<>]/);
      expect(text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
    expect(message.blocks[1]?.text?.text).toBe(
      'Device &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt; said &lt;https://evil.example|click&gt;',
    );
    expect(fieldTexts(message)).toContain('*Device*\n`dev&lt;@U123&gt;&amp;`');
  });

  it('escapes the ampersand first, so an entity in the text stays literal', () => {
    expect(escapeMrkdwn('&lt; <')).toBe('&amp;lt; &lt;');
  });

  it('fails without quoting the webhook path', async () => {
    server.answerWith({ status: 403, body: 'invalid_token' });

    const failure = await sink.send(aDeviceNotification()).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(AlertSinkFailed);
    const { message, retryable } = failure as AlertSinkFailed;
    expect(retryable).toBe(false);
    expect(message).toContain(`slack sink ${server.origin}/… answered 403`);
    expect(message).not.toContain('XXsl4ckS3cret');
    expect(message).not.toContain('/services');
  });
});
