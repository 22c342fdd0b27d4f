import { decodeIotHubMessage } from '../../shared/app/ingest/decodeIotHubMessage';
import { deviceConnected, twinUpdated } from '../../shared/local/iotHubMessages';

const ORIGIN = { hub: 'sim-hub', deviceId: 'dev-1', at: '2026-11-23T10:00:00.000Z' };
const OPTIONS = { certificatePath: 'certificate', maxBodyBytes: 256 * 1024 };

describe('the routed IoT Hub messages the simulator and the sample run send', () => {
  it('carry iothub-enqueuedtime as epoch milliseconds, as the routed-message docs list it', () => {
    const message = twinUpdated(ORIGIN, 2, {});

    expect(message.systemProperties['iothub-enqueuedtime']).toBe(Date.parse(ORIGIN.at) + 40);
  });

  it('carry Event Hubs’ own enqueued time as UTC text', () => {
    expect(deviceConnected(ORIGIN, 1n).enqueuedTimeUtc).toBe('2026-11-23T10:00:00.040Z');
  });

  it('decode to the enqueued time when the operation time is missing', () => {
    for (const message of [twinUpdated(ORIGIN, 2, {}), deviceConnected(ORIGIN, 1n)]) {
      delete message.properties['operationTimestamp'];
      const decoded = decodeIotHubMessage(message, OPTIONS);
      expect(decoded.ok && decoded.events[0]?.occurredAt).toBe('2026-11-23T10:00:00.040Z');

      delete message.systemProperties['iothub-enqueuedtime'];
      const fromBatch = decodeIotHubMessage(message, OPTIONS);
      expect(fromBatch.ok && fromBatch.events[0]?.occurredAt).toBe('2026-11-23T10:00:00.040Z');
    }
  });
});
