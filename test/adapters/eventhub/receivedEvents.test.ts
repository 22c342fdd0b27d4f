import { decodeIotHubMessage } from '../../../shared/app/ingest/decodeIotHubMessage';
import { messagesFromReceivedEvents } from '../../../shared/adapters/eventhub/receivedEvents';
import {
  messagesFromTriggerBatch,
  triggerBatchFromMessages,
} from '../../../shared/adapters/eventhub/triggerBatch';
import {
  certificateReportedBySdk,
  deviceConnectedBySdk,
  deviceCreatedBySdk,
  routedBySdk,
} from '../../support/receivedEvents';

const DECODE = { certificatePath: 'certificate', maxBodyBytes: 256 * 1024 };
const SPEC = {
  hub: 'contoso-hub',
  deviceId: 'sensor-01',
  at: '2026-11-20T08:15:00.000Z',
  sequenceNumber: 4821,
};
const CERTIFICATE = {
  validFrom: '2026-11-20T00:00:00.000Z',
  validUntil: '2026-12-20T00:00:00.000Z',
};

describe('messagesFromReceivedEvents', () => {
  it('keeps a twin-change body the SDK parsed as the very object, and names the system properties as IoT Hub does', () => {
    const event = certificateReportedBySdk(SPEC, 4, CERTIFICATE);

    const [message] = messagesFromReceivedEvents([event]);

    expect(message?.body).toBe(event.body);
    expect(message?.properties).toStrictEqual({
      hubName: 'contoso-hub',
      deviceId: 'sensor-01',
      operationTimestamp: '2026-11-20T08:15:00.0000000Z',
      'iothub-message-schema': 'twinChangeNotification',
      opType: 'updateTwin',
    });
    expect(message?.systemProperties).toStrictEqual({
      'iothub-connection-device-id': 'sensor-01',
      'iothub-connection-auth-method':
        '{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
      'iothub-connection-auth-generation-id': '638678301234567890',
      'iothub-enqueuedtime': '2026-11-20T08:15:00.040Z',
      'iothub-message-source': 'twinChangeEvents',
      'user-id': 'contoso-hub',
      'content-type': 'application/json',
      'content-encoding': 'utf-8',
      'x-opt-sequence-number': 4821,
      'x-opt-offset': '4299904000',
      'x-opt-enqueued-time': '2026-11-20T08:15:00.095Z',
    });
    expect(message?.enqueuedTimeUtc).toBe('2026-11-20T08:15:00.095Z');
  });

  it('decodes a certificate report the SDK delivered into the ledger event the trigger would make', () => {
    const [message] = messagesFromReceivedEvents([certificateReportedBySdk(SPEC, 4, CERTIFICATE)]);

    const decoded = decodeIotHubMessage(message!, DECODE);

    expect(decoded).toStrictEqual({
      ok: true,
      events: [
        {
          kind: 'twin-report',
          hub: 'contoso-hub',
          deviceId: 'sensor-01',
          occurredAt: '2026-11-20T08:15:00.000Z',
          opType: 'updateTwin',
          complete: false,
          reportedVersion: 4,
          certificate: { present: true, value: CERTIFICATE },
          privateKeyReported: false,
        },
      ],
    });
  });

  it('keeps a body left as bytes as the same bytes, which the decoder parses', () => {
    const event = deviceConnectedBySdk(
      { ...SPEC, bodyAs: 'bytes' },
      '000000000000000001D8F1A2B3C4D5E6000000010000000000000000000000AB',
    );

    const [message] = messagesFromReceivedEvents([event]);

    expect(message?.body).toBe(event.body);
    expect(message?.body).toBeInstanceOf(Uint8Array);
    const decoded = decodeIotHubMessage(message!, DECODE);
    expect(decoded.ok && decoded.events[0]).toMatchObject({
      kind: 'connection',
      connected: true,
      sequenceNumber: '000000000000000001d8f1a2b3c4d5e6000000010000000000000000000000ab',
    });
  });

  it("dates a lifecycle event by IoT Hub's enqueued time, which the SDK hands over as epoch milliseconds, when operationTimestamp is missing", () => {
    const event = deviceCreatedBySdk(SPEC);
    delete event.properties!['operationTimestamp'];

    const [message] = messagesFromReceivedEvents([event]);
    const decoded = decodeIotHubMessage(message!, DECODE);

    // IoT Hub's enqueued time (40 ms after the operation), not Event Hubs' (95 ms after).
    expect(decoded.ok && decoded.events.map((e) => e.occurredAt)).toStrictEqual([
      '2026-11-20T08:15:00.040Z',
      '2026-11-20T08:15:00.040Z',
    ]);
  });

  it('finds the hub in the AMQP user-id, which the SDK hands over as bytes, when hubName is missing', () => {
    const event = deviceCreatedBySdk({ ...SPEC, hub: 'Contoso-Hub' });
    delete event.properties!['hubName'];

    const [message] = messagesFromReceivedEvents([event]);
    const decoded = decodeIotHubMessage(message!, DECODE);

    expect(decoded.ok && decoded.events.map((e) => `${e.hub}/${e.deviceId}`)).toStrictEqual([
      'contoso-hub/sensor-01',
      'contoso-hub/sensor-01',
    ]);
  });

  it('turns Dates and Long-like values in system properties into plain text and numbers', () => {
    const event = routedBySdk(SPEC, 'deviceLifecycleEvents', 'deleteDeviceIdentity', {});
    const epoch = Buffer.alloc(8);
    epoch.writeBigInt64BE(9_007_199_254_740_993n);
    event.systemProperties = {
      ...event.systemProperties,
      'iothub-enqueuedtime': new Date('2026-11-20T08:15:00.040Z'),
      creationTime: Date.parse('2026-11-20T08:14:59.500Z'),
      'x-opt-sequence-number-epoch': epoch,
      'iothub-app-counter': { low: 42, high: 1, unsigned: false },
      'iothub-app-huge': { low: 0, high: 0x7fffffff, unsigned: false },
      'iothub-app-negative': { low: -1, high: -1, unsigned: false },
      'iothub-app-bigint': 123n,
    };
    event.sequenceNumber = { low: 4821, high: 0, unsigned: false };
    event.enqueuedTimeUtc = new Date('2026-11-20T08:15:00.095Z');

    const [message] = messagesFromReceivedEvents([event]);
    const system = message!.systemProperties;

    expect(system).toMatchObject({
      'iothub-enqueuedtime': '2026-11-20T08:15:00.040Z',
      'creation-time': '2026-11-20T08:14:59.500Z',
      'x-opt-sequence-number-epoch': '9007199254740993',
      'iothub-app-counter': 4_294_967_338,
      'iothub-app-huge': '9223372032559808512',
      'iothub-app-negative': -1,
      'iothub-app-bigint': 123,
      'x-opt-sequence-number': 4821,
    });
    // Dead letters hash and store these: they must survive JSON unchanged.
    expect(JSON.parse(JSON.stringify(message))).toStrictEqual(message);
    expect(decodeIotHubMessage(message!, DECODE)).toMatchObject({
      ok: true,
      events: [{ kind: 'lifecycle', change: 'deleted', occurredAt: '2026-11-20T08:15:00.000Z' }],
    });
  });

  it('drops what is not a value and copes with events missing their optional parts', () => {
    const [message] = messagesFromReceivedEvents([
      {
        body: 'not json',
        properties: { opType: 'updateTwin', callback: () => 1, nothing: undefined },
        enqueuedTimeUtc: new Date(Number.NaN),
      },
    ]);

    expect(message).toStrictEqual({
      body: 'not json',
      properties: { opType: 'updateTwin' },
      systemProperties: {},
    });
  });

  it('feeds the trigger batch with what the Functions trigger would zip back into the same messages', () => {
    const events = [
      deviceCreatedBySdk({ ...SPEC, sequenceNumber: 10 }),
      certificateReportedBySdk({ ...SPEC, sequenceNumber: 11 }, 2, CERTIFICATE),
      deviceConnectedBySdk({ ...SPEC, sequenceNumber: 12, bodyAs: 'bytes' }, '0a'),
    ];
    const messages = messagesFromReceivedEvents(events);

    const { bodies, metadata } = triggerBatchFromMessages(messages);

    expect(messagesFromTriggerBatch(bodies, metadata)).toStrictEqual(messages);
    expect(messages.map((m) => m.systemProperties['x-opt-sequence-number'])).toStrictEqual([
      10, 11, 12,
    ]);
  });
});
