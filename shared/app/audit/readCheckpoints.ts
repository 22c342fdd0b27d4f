import { mapWithConcurrency } from '../concurrency';
import { CheckpointKeys, CheckpointStore } from '../ports';
import { bodyOf, checkpointMessage, parseCheckpoint } from '../../domain/audit/Checkpoint';
import { CheckpointRead } from '../../domain/audit/TrailVerification';

const READ_BATCH = 16;

/**
 * Reads checkpoints from the newest back, a batch at a time, until `enough` says the ones read
 * (oldest first) reach far enough, or the oldest stored is read. Each is parsed and its signature
 * checked against the trusted keys.
 */
export async function readCheckpointsBack(
  store: CheckpointStore,
  keys: CheckpointKeys,
  enough: (read: readonly CheckpointRead[]) => boolean,
): Promise<{ listed: number[]; read: CheckpointRead[]; reachedStart: boolean }> {
  const listed = await store.list();
  const read: CheckpointRead[] = [];
  let index = listed.length;
  while (index > 0) {
    const batch = listed.slice(Math.max(0, index - READ_BATCH), index);
    index -= batch.length;
    const got = await mapWithConcurrency(batch, READ_BATCH, (seq) => readOne(store, keys, seq));
    read.unshift(...got);
    if (enough(read)) break;
  }
  return { listed, read, reachedStart: index === 0 };
}

export async function readOne(
  store: CheckpointStore,
  keys: CheckpointKeys,
  seq: number,
): Promise<CheckpointRead> {
  const stored = await store.read(seq);
  if (stored === undefined) return { seq };
  const parsed = parseCheckpoint(stored);
  if ('problem' in parsed)
    return { seq, stored, problem: `is not a checkpoint: ${parsed.problem}` };
  const { checkpoint } = parsed;
  const signature = Buffer.from(checkpoint.signature, 'base64url');
  const check = await keys.verify(
    checkpoint.keyId,
    checkpointMessage(bodyOf(checkpoint)),
    signature,
  );
  if (check === 'untrusted-key')
    return { seq, stored, problem: `is signed with a key this deployment does not trust` };
  if (check === 'invalid')
    return { seq, stored, problem: 'has a signature that does not match its content: altered' };
  return { seq, stored, checkpoint };
}
