/**
 * The end of one Event Hub partition as Event Hubs reports it (`getPartitionProperties`):
 * sequence numbers increase by one per event, so the distance between two of them counts events.
 */
export interface PartitionEnd {
  partitionId: string;
  /** The oldest event still retained. */
  beginningSequenceNumber: number;
  /** The newest event; -1 when the partition has never held one. */
  lastEnqueuedSequenceNumber: number;
  lastEnqueuedAt?: Date;
  isEmpty: boolean;
}

/**
 * Where the trigger stands on a partition: the sequence number of the last event it
 * checkpointed, `'none'` when it has never checkpointed there, `'unknown'` when a checkpoint
 * exists without a sequence number (written by an older extension that kept only the offset).
 */
export type CheckpointPosition = number | 'none' | 'unknown';

/**
 * Events in a partition that the trigger has not checkpointed yet; undefined when that cannot be
 * known. Counted as the Functions Event Hubs extension's scale monitor counts them
 * (azure-sdk-for-net, Microsoft.Azure.WebJobs.Extensions.EventHubs, EventHubMetricsProvider):
 * from the checkpoint to the newest event; with no checkpoint, every event still retained (the
 * trigger starts from the beginning: host.json `initialOffsetOptions.type` is `fromStart`); an
 * empty partition has none. A checkpoint ahead of the newest event (seen right after one is
 * written) counts as none behind; one behind the oldest retained event counts what is retained.
 */
export function partitionLag(
  end: PartitionEnd,
  checkpoint: CheckpointPosition,
): number | undefined {
  if (end.isEmpty || end.lastEnqueuedSequenceNumber < 0) return 0;
  if (checkpoint === 'unknown') return undefined;
  // Events older than the partition's retention are gone: a checkpoint behind them (the app
  // stopped for longer than the retention) leaves only what is still there to read.
  const oldest = end.beginningSequenceNumber - 1;
  const from = checkpoint === 'none' ? oldest : Math.max(checkpoint, oldest);
  return Math.max(0, end.lastEnqueuedSequenceNumber - from);
}
