import { DeadLetter, DeadLetters } from '../../shared/app/ports';

/**
 * What every DeadLetters does: keeps each rejected message as given, once however often it is
 * redelivered. Run against the in-memory double and the blob adapter on Azurite
 * (DeadLetters.test.ts).
 */

function aDeadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id: '3f1c0a9b7e5d4c2a1908f7e6d5c4b3a291807f6e',
    code: 'body-not-json',
    reason: 'body is not JSON: Unexpected end of JSON input',
    receivedAt: '2026-11-23T12:00:00.000Z',
    hub: 'contoso-hub',
    deviceId: 'camera#0008',
    message: {
      body: '{"properties": {"reported": ',
      properties: { hubName: 'contoso-hub', opType: 'updateTwin' },
      systemProperties: { 'iothub-connection-device-id': 'camera#0008' },
    },
    ...overrides,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function deadLettersContract(name: string, someDeadLetters: () => DeadLetters): void {
  describe(`the DeadLetters contract: ${name}`, () => {
    it('lists nothing before the first letter arrives', async () => {
      expect(await collect(someDeadLetters().list())).toEqual([]);
    });

    it('lists back every letter it was given, as given, with or without a device', async () => {
      const deadLetters = someDeadLetters();
      const notJson = aDeadLetter();
      const unknownSource = aDeadLetter({
        id: '0000000000000000000000000000000000000001',
        code: 'unknown-source',
        reason: 'not an IoT Hub twin, lifecycle or connection event',
        receivedAt: '2026-11-24T00:00:01.000Z',
        message: { body: { hello: 'world' }, properties: {}, systemProperties: {} },
      });
      delete unknownSource.hub;
      delete unknownSource.deviceId;

      await deadLetters.put(notJson);
      await deadLetters.put(unknownSource);

      const listed = await collect(deadLetters.list());
      expect(listed).toHaveLength(2);
      expect(listed).toEqual(expect.arrayContaining([notJson, unknownSource]));
    });

    it('keeps one letter when the same one is put twice (a redelivery)', async () => {
      const deadLetters = someDeadLetters();
      const letter = aDeadLetter();

      await deadLetters.put(letter);
      await deadLetters.put({ ...letter });

      expect(await collect(deadLetters.list())).toEqual([letter]);
    });

    it('keeps what it was given, whatever the caller changes afterwards', async () => {
      const deadLetters = someDeadLetters();
      const letter = aDeadLetter();

      await deadLetters.put(letter);
      letter.reason = 'changed by the caller';

      expect((await collect(deadLetters.list()))[0]?.reason).toBe(
        'body is not JSON: Unexpected end of JSON input',
      );
    });
  });
}
