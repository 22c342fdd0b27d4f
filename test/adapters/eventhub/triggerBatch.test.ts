import { decodeIotHubMessage } from '../../../shared/app/ingest/decodeIotHubMessage';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import {
  messagesFromTriggerBatch,
  triggerBatchFromMessages,
} from '../../../shared/adapters/eventhub/triggerBatch';
import { deviceConnected, twinUpdated } from '../../../shared/local/iotHubMessages';

const AT = '2026-11-23T10:00:00.000Z';

describe('messagesFromTriggerBatch', () => {
  it('zips each body with the properties, system properties and enqueued time at its index', () => {
    const messages = messagesFromTriggerBatch(['first', 'second'], {
      propertiesArray: [{ opType: 'updateTwin' }, { opType: 'deviceConnected' }],
      systemPropertiesArray: [
        { 'iothub-connection-device-id': 'dev-1' },
        { 'iothub-connection-device-id': 'dev-2' },
      ],
      enqueuedTimeUtcArray: ['2026-11-23T10:00:00.000Z', '2026-11-23T10:00:01.000Z'],
    });
    expect(messages).toStrictEqual([
      {
        body: 'first',
        properties: { opType: 'updateTwin' },
        systemProperties: { 'iothub-connection-device-id': 'dev-1' },
        enqueuedTimeUtc: '2026-11-23T10:00:00.000Z',
      },
      {
        body: 'second',
        properties: { opType: 'deviceConnected' },
        systemProperties: { 'iothub-connection-device-id': 'dev-2' },
        enqueuedTimeUtc: '2026-11-23T10:00:01.000Z',
      },
    ]);
  });

  it('keeps every body, whatever its type, as the trigger handed it over', () => {
    const buffer = Buffer.from('{"sequenceNumber":"01"}');
    const object = { properties: { reported: { $version: 1 } } };
    const messages = messagesFromTriggerBatch([buffer, object, '{}', null], undefined);
    expect(messages.map((m) => m.body)).toEqual([buffer, object, '{}', null]);
    expect(messages[0]?.body).toBe(buffer);
    expect(messages[1]?.body).toBe(object);
  });

  it('writes an enqueued time given as a Date as UTC ISO 8601', () => {
    const [message] = messagesFromTriggerBatch(['body'], {
      enqueuedTimeUtcArray: [new Date('2026-11-23T10:00:00.250Z')],
    });
    expect(message?.enqueuedTimeUtc).toBe('2026-11-23T10:00:00.250Z');
  });

  it('gives empty property bags and no enqueued time when there is no metadata', () => {
    expect(messagesFromTriggerBatch(['a', 'b'], undefined)).toStrictEqual([
      { body: 'a', properties: {}, systemProperties: {} },
      { body: 'b', properties: {}, systemProperties: {} },
    ]);
  });

  it('gives empty property bags when the metadata has none of the arrays', () => {
    expect(messagesFromTriggerBatch(['a'], {})).toStrictEqual([
      { body: 'a', properties: {}, systemProperties: {} },
    ]);
  });

  it('treats metadata values that are not arrays as missing', () => {
    const messages = messagesFromTriggerBatch(['a'], {
      propertiesArray: { opType: 'updateTwin' },
      systemPropertiesArray: 'iothub-connection-device-id=dev-1',
      enqueuedTimeUtcArray: AT,
    });
    expect(messages).toStrictEqual([{ body: 'a', properties: {}, systemProperties: {} }]);
  });

  it('survives arrays shorter than the batch, filling the rest with empty bags', () => {
    const messages = messagesFromTriggerBatch(['a', 'b', 'c'], {
      propertiesArray: [{ opType: 'updateTwin' }, { opType: 'replaceTwin' }],
      systemPropertiesArray: [{ 'iothub-connection-device-id': 'dev-1' }],
      enqueuedTimeUtcArray: [],
    });
    expect(messages).toStrictEqual([
      {
        body: 'a',
        properties: { opType: 'updateTwin' },
        systemProperties: { 'iothub-connection-device-id': 'dev-1' },
      },
      { body: 'b', properties: { opType: 'replaceTwin' }, systemProperties: {} },
      { body: 'c', properties: {}, systemProperties: {} },
    ]);
  });

  it('ignores entries that are not property objects or times', () => {
    const messages = messagesFromTriggerBatch(['a', 'b', 'c'], {
      propertiesArray: [null, ['opType', 'updateTwin'], 'opType'],
      systemPropertiesArray: [undefined, 7, true],
      enqueuedTimeUtcArray: [null, 1795428000000, { time: AT }],
    });
    expect(messages).toStrictEqual([
      { body: 'a', properties: {}, systemProperties: {} },
      { body: 'b', properties: {}, systemProperties: {} },
      { body: 'c', properties: {}, systemProperties: {} },
    ]);
  });

  it('returns no messages for an empty batch', () => {
    expect(messagesFromTriggerBatch([], { propertiesArray: [{ opType: 'updateTwin' }] })).toEqual(
      [],
    );
  });
});

describe('triggerBatchFromMessages', () => {
  const origin = { hub: 'contoso-hub', deviceId: 'dev-1', at: AT };
  const withoutEnqueuedTime: RawIotHubMessage = {
    body: Buffer.from('{"sequenceNumber":"02"}'),
    properties: {
      hubName: 'contoso-hub',
      opType: 'deviceDisconnected',
      operationTimestamp: '2026-11-23T10:00:05.000Z',
    },
    systemProperties: { 'iothub-connection-device-id': 'dev-2' },
  };
  const messages: RawIotHubMessage[] = [
    twinUpdated(origin, 4, { certificate: { validFrom: AT } }),
    withoutEnqueuedTime,
    deviceConnected(origin, 3n),
  ];

  it('lays messages out as parallel arrays, with null where a message has no enqueued time', () => {
    const batch = triggerBatchFromMessages(messages);
    expect(batch.bodies).toHaveLength(3);
    expect(batch.metadata.propertiesArray).toEqual(messages.map((m) => m.properties));
    expect(batch.metadata.systemPropertiesArray).toEqual(messages.map((m) => m.systemProperties));
    expect(batch.metadata.enqueuedTimeUtcArray).toEqual([
      '2026-11-23T10:00:00.040Z',
      null,
      '2026-11-23T10:00:00.040Z',
    ]);
  });

  it('round-trips through messagesFromTriggerBatch to the same messages', () => {
    const { bodies, metadata } = triggerBatchFromMessages(messages);
    expect(messagesFromTriggerBatch(bodies, metadata)).toStrictEqual(messages);
  });

  it('round-trips through JSON, as the host serialises a batch, and still decodes the same', () => {
    const serialised = JSON.parse(JSON.stringify(triggerBatchFromMessages(messages))) as ReturnType<
      typeof triggerBatchFromMessages
    >;
    const options = { certificatePath: 'certificate', maxBodyBytes: 64 * 1024 };
    const again = messagesFromTriggerBatch(serialised.bodies, serialised.metadata);
    const decoded = again.map((m) => decodeIotHubMessage(m, options));
    expect(decoded.map((d) => d.ok)).toEqual([true, true, true]);
    expect(decoded).toEqual(messages.map((m) => decodeIotHubMessage(m, options)));
  });
});
