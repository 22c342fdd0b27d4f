import { DeadLetter } from '../../../shared/app/ports';
import { BlobDeadLetters } from '../../../shared/adapters/storage/BlobDeadLetters';
import { containerClient, freshPrefix } from '../../support/rawStorage';

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

function someDeadLetters() {
  const name = `${freshPrefix()}-deadletters`;
  return { deadLetters: new BlobDeadLetters(containerClient(name)), container: name };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function blobsIn(container: string) {
  const blobs: { name: string; tags: Record<string, string> }[] = [];
  for await (const blob of containerClient(container).listBlobsFlat({ includeTags: true })) {
    blobs.push({ name: blob.name, tags: blob.tags ?? {} });
  }
  return blobs.sort((a, b) => a.name.localeCompare(b.name));
}

describe('BlobDeadLetters on Azurite', () => {
  it('lists back every letter it was given, as given', async () => {
    const { deadLetters } = someDeadLetters();
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

  it('files each letter under the date it was received and its code, without index tags', async () => {
    const { deadLetters, container } = someDeadLetters();
    const letter = aDeadLetter({ receivedAt: '2026-11-23T23:59:59.999Z' });

    await deadLetters.put(letter);

    expect(await blobsIn(container)).toEqual([
      { name: `2026/11/23/body-not-json/${letter.id}.json`, tags: {} },
    ]);
  });

  it('keeps one blob when the same letter is put twice (a redelivery)', async () => {
    const { deadLetters, container } = someDeadLetters();
    const letter = aDeadLetter();

    await deadLetters.put(letter);
    await deadLetters.put({ ...letter });

    expect((await blobsIn(container)).map((b) => b.name)).toEqual([
      `2026/11/23/body-not-json/${letter.id}.json`,
    ]);
    expect(await collect(deadLetters.list())).toEqual([letter]);
  });

  it('lists nothing before the first letter arrives', async () => {
    const { deadLetters } = someDeadLetters();

    expect(await collect(deadLetters.list())).toEqual([]);
  });
});
