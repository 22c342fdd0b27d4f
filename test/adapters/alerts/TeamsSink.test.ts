import { AlertSinkFailed } from '../../../shared/app/ports';
import { TeamsSink } from '../../../shared/adapters/alerts/TeamsSink';
import { aDeviceNotification, aFleetNotification } from './notifications';
import { recordingServer, RecordingServer } from '../../support/recordingServer';

/**
 * The Teams sink against a real loopback receiver standing in for a Workflows webhook: the
 * body is the message envelope with one Adaptive Card, the card says what the alert is, and a
 * failure never quotes the workflow's signed URL.
 */

const WORKFLOW_PATH =
  '/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Wf5ig_secret';

interface Card {
  $schema: string;
  type: string;
  version: string;
  body: { type: string; text?: string; wrap?: boolean; color?: string; facts?: Fact[] }[];
}
interface Fact {
  title: string;
  value: string;
}
interface TeamsMessage {
  type: string;
  attachments: { contentType: string; contentUrl: null; content: Card }[];
}

describe('TeamsSink', () => {
  let server: RecordingServer;
  let sink: TeamsSink;

  beforeAll(async () => {
    server = await recordingServer();
    sink = new TeamsSink({ url: `${server.origin}${WORKFLOW_PATH}` });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.answerWith({ status: 202 });
  });

  function sentMessage(): TeamsMessage {
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
    return JSON.parse(server.requests[0]?.body ?? '') as TeamsMessage;
  }

  function cardOf(message: TeamsMessage): Card {
    expect(message.attachments).toHaveLength(1);
    return message.attachments[0]!.content;
  }

  function factsOf(card: Card): Record<string, string> {
    const factSet = card.body.find((b) => b.type === 'FactSet');
    return Object.fromEntries((factSet?.facts ?? []).map((f) => [f.title, f.value]));
  }

  it('is named teams', () => {
    expect(sink.name).toBe('teams');
  });

  it('posts a message with one Adaptive Card, as Workflows webhooks take it', async () => {
    await sink.send(aDeviceNotification());

    const message = sentMessage();
    expect(message.type).toBe('message');
    expect(message.attachments[0]).toMatchObject({
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
    });
    const card = cardOf(message);
    expect(card).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
    });
    expect(card.body.map((b) => b.type)).toStrictEqual(['TextBlock', 'TextBlock', 'FactSet']);
  });

  it('titles a device alert, gives its summary and the facts to act on', async () => {
    const notification = aDeviceNotification();

    await sink.send(notification);

    const card = cardOf(sentMessage());
    expect(card.body[0]).toMatchObject({
      text: 'CRITICAL · certificate-expiring · raised',
      color: 'Attention',
    });
    expect(card.body[1]).toMatchObject({ text: notification.summary, wrap: true });
    expect(factsOf(card)).toStrictEqual({
      Rule: 'certificate-expiring',
      Severity: 'critical',
      Status: 'raised',
      Hub: 'hub-a',
      Device: 'dev-42',
      'Valid until': '2026-03-04T00:00:00.000Z',
      'Raised at': '2026-03-01T10:00:00.000Z',
      'Alert id': notification.alertId,
    });
  });

  it('gives a fleet alert’s count and sample instead of a device', async () => {
    await sink.send(aFleetNotification());

    const card = cardOf(sentMessage());
    expect(card.body[0]).toMatchObject({
      text: 'WARNING · certificate-expiring · raised',
      color: 'Warning',
    });
    const facts = factsOf(card);
    expect(facts).toMatchObject({
      Devices: '240',
      Sample: 'hub-a/dev-001, hub-a/dev-002, hub-b/dev-003',
    });
    expect(facts).not.toHaveProperty('Device');
    expect(facts).not.toHaveProperty('Hub');
  });

  it('colours a resolution good, whatever its severity', async () => {
    await sink.send(aDeviceNotification({ status: 'resolved' }));

    expect(cardOf(sentMessage()).body[0]).toMatchObject({
      text: 'CRITICAL · certificate-expiring · resolved',
      color: 'Good',
    });
  });

  it('marks a test notification in its title', async () => {
    await sink.send(
      aFleetNotification({ rule: 'test', test: true, count: undefined, sample: undefined }),
    );

    expect(cardOf(sentMessage()).body[0]?.text).toBe('WARNING · test · raised (test)');
  });

  it('fails without quoting the workflow’s signature', async () => {
    server.answerWith({ status: 400, body: 'bad request for sig=Wf5ig_secret' });

    const failure = await sink.send(aDeviceNotification()).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(AlertSinkFailed);
    const { message, retryable } = failure as AlertSinkFailed;
    expect(retryable).toBe(false);
    expect(message).toBe(
      `teams sink ${server.origin}/… answered 400 (not retried: check the URL and credentials)`,
    );
  });
});
