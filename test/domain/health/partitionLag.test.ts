import { PartitionEnd, partitionLag } from '../../../shared/domain/health/partitionLag';

/** Events a partition holds past the trigger's checkpoint, counted as the scale monitor counts them. */
function aPartition(overrides: Partial<PartitionEnd> = {}): PartitionEnd {
  return {
    partitionId: '0',
    beginningSequenceNumber: 100,
    lastEnqueuedSequenceNumber: 250,
    lastEnqueuedAt: new Date('2026-11-23T11:59:00.000Z'),
    isEmpty: false,
    ...overrides,
  };
}

describe('partitionLag', () => {
  it('counts the events after the last one checkpointed', () => {
    expect(partitionLag(aPartition(), 240)).toBe(10);
  });

  it('is zero when the checkpoint is at the newest event', () => {
    expect(partitionLag(aPartition(), 250)).toBe(0);
  });

  it('counts only the retained events when the checkpoint is older than the retention', () => {
    // Events 0 to 99 expired while the app was stopped: 151 are left to read, not 240.
    expect(partitionLag(aPartition(), 10)).toBe(151);
  });

  it('counts every retained event when the trigger has never checkpointed', () => {
    expect(partitionLag(aPartition(), 'none')).toBe(151);
  });

  it('counts one event for a partition whose first event has just arrived', () => {
    expect(
      partitionLag(
        aPartition({ beginningSequenceNumber: 0, lastEnqueuedSequenceNumber: 0 }),
        'none',
      ),
    ).toBe(1);
  });

  it('is zero for an empty partition, checkpointed or not', () => {
    const empty = aPartition({ isEmpty: true, lastEnqueuedSequenceNumber: -1 });
    expect(partitionLag(empty, 'none')).toBe(0);
    expect(partitionLag(empty, 'unknown')).toBe(0);
  });

  it('is not known when the checkpoint carries no sequence number', () => {
    expect(partitionLag(aPartition(), 'unknown')).toBeUndefined();
  });

  it('counts nothing behind when the checkpoint is read ahead of the newest event', () => {
    expect(partitionLag(aPartition(), 260)).toBe(0);
  });
});
