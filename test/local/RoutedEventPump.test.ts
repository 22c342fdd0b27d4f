import { IngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { deviceConnected } from '../../shared/local/iotHubMessages';
import { RoutedEventPump } from '../../shared/local/RoutedEventPump';

const summary = (messages: number): IngestSummary => ({
  messages,
  applied: messages,
  duplicate: 0,
  stale: 0,
  irrelevant: 0,
  ignored: 0,
  deadLettered: 0,
  auditWritten: 0,
});

const events = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    deviceConnected(
      { hub: 'agents-hub', deviceId: `agent-${i}`, at: '2026-12-02T08:00:00.000Z' },
      BigInt(i + 1),
    ),
  );

const idsOf = (batch: readonly RawIotHubMessage[]) =>
  batch.map((m) => m.systemProperties['iothub-connection-device-id']);

describe('the routed events of the agents’ hub, applied as the Event Hubs trigger applies them', () => {
  it('applies what arrived in order, in batches of at most the trigger’s 100', async () => {
    const batches: RawIotHubMessage[][] = [];
    const pump = new RoutedEventPump(async (batch) => {
      batches.push([...batch]);
      return summary(batch.length);
    });
    const routed = events(230);
    routed.forEach(pump.push);

    await pump.flush();

    expect(batches.map((b) => b.length)).toEqual([100, 100, 30]);
    expect(batches.flatMap(idsOf)).toEqual(idsOf(routed));
    expect(pump.counts).toMatchObject({ batches: 3, events: 230, retried: 0 });
  });

  it('keeps a batch that failed and applies it again at the next turn, before what came after', async () => {
    const applied: RawIotHubMessage[][] = [];
    let fail = true;
    const pump = new RoutedEventPump(async (batch) => {
      if (fail) throw new Error('storage unreachable');
      applied.push([...batch]);
      return summary(batch.length);
    });
    const [first, second] = events(2);
    pump.push(first!);

    await pump.flush();
    expect(applied).toEqual([]);
    expect(pump.counts.retried).toBe(1);
    expect(pump.lastError).toBe('storage unreachable');

    fail = false;
    pump.push(second!);
    await pump.flush();
    expect(applied.flatMap(idsOf)).toEqual(idsOf([first!, second!]));
  });

  it('applies nothing more once stopped', async () => {
    const applied: number[] = [];
    const pump = new RoutedEventPump(async (batch) => {
      applied.push(batch.length);
      return summary(batch.length);
    });
    pump.start();
    await pump.stop();
    events(3).forEach(pump.push);

    await pump.flush();

    expect(applied).toEqual([]);
  });
});
