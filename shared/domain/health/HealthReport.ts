/**
 * What certfleet's health check found (`GET /api/health/details`): whether the fleet storage
 * answers, how far the Event Hubs trigger is behind on each partition, whether each IoT hub
 * answers. Problems are short classified texts (`403 AuthorizationPermissionMismatch`, `timeout
 * after 5 s`, `ENOTFOUND`): never a key, a token, a connection string or an answer's body.
 */

/** certfleet's health in one word: all an anonymous caller is told (`GET /api/health`). */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface StorageHealth {
  status: 'ok' | 'unreachable';
  latencyMs: number;
  problem?: string;
}

export interface PartitionHealth {
  partitionId: string;
  /** The sequence number of the newest event in the partition; -1 when it holds none. */
  lastEnqueuedSequenceNumber: number;
  /** The sequence number of the last event the trigger checkpointed; null when it has none. */
  checkpointSequenceNumber: number | null;
  /** Events in the partition the trigger has not checkpointed yet; null when not known. */
  lag: number | null;
  /** When the newest event was enqueued (ISO 8601, UTC); null when the partition holds none. */
  lastEnqueuedAt: string | null;
}

export type EventStreamHealth =
  /** No Event Hubs connection is set (`IotHubEvents`): local runs, or ingest by other means. */
  | { status: 'not-configured' }
  | {
      /** `lagging`: a partition's lag is above PARTITION_LAG_THRESHOLD (healthStatus.ts). */
      status: 'ok' | 'lagging' | 'unreachable';
      eventHub?: string;
      consumerGroup?: string;
      latencyMs?: number;
      partitions: PartitionHealth[];
      problem?: string;
    };

export interface HubHealth {
  hub: string;
  status: 'ok' | 'unreachable';
  latencyMs: number;
  /** What IoT Hub's service statistics say (`connectedDeviceCount`). */
  connectedDevices?: number;
  problem?: string;
}

export interface HealthReport {
  checkedAt: string;
  status: HealthStatus;
  storage: StorageHealth;
  eventStream: EventStreamHealth;
  hubs: HubHealth[];
}
