import { EventStreamHealth, HealthStatus, HubHealth, StorageHealth } from './HealthReport';

/**
 * Events a partition may hold beyond the trigger's checkpoint before the event stream counts as
 * lagging. The trigger holds up to about 400 events in flight per partition (host.json:
 * `prefetchCount` 300 and batches of `maxEventBatchSize` 100, a checkpoint after each batch), so
 * a lag under that is normal consumption; 5,000 is more than ten times it, a few minutes of work
 * at the ingest rates docs/benchmarks.md measures (100 to 300 events a second), and well under
 * what a stuck trigger piles up in a day of a fleet's twin changes. A constant, not a setting:
 * ops alert on the answer, not on a tuned number.
 */
export const PARTITION_LAG_THRESHOLD = 5_000;

/** `lagging` when any partition's lag is above PARTITION_LAG_THRESHOLD; an unknown lag is not. */
export function eventStreamStatusOf(
  partitions: readonly { lag: number | null }[],
): 'ok' | 'lagging' {
  return partitions.some((p) => p.lag !== null && p.lag > PARTITION_LAG_THRESHOLD)
    ? 'lagging'
    : 'ok';
}

/**
 * certfleet's health from its parts:
 * - `unhealthy` when the fleet storage does not answer: no event can be recorded, no renewal
 *   asked or counted, no report read;
 * - `degraded` when certfleet works but sees less than it should: the event stream cannot be
 *   read or is lagging (twin changes arrive late), or a hub does not answer (its devices cannot
 *   be asked to renew);
 * - `healthy` otherwise. An event stream that is not configured is not a failure.
 */
export function healthStatus(parts: {
  storage: Pick<StorageHealth, 'status'>;
  eventStream: Pick<EventStreamHealth, 'status'>;
  hubs: readonly Pick<HubHealth, 'status'>[];
}): HealthStatus {
  if (parts.storage.status !== 'ok') return 'unhealthy';
  const stream = parts.eventStream.status;
  if (stream === 'unreachable' || stream === 'lagging') return 'degraded';
  if (parts.hubs.some((hub) => hub.status !== 'ok')) return 'degraded';
  return 'healthy';
}
