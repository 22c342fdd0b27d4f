import { MethodOutcomeKind } from '../../domain/renewal/MethodOutcome';

/**
 * What came of asking one device to renew: the direct method's outcome, or why it was not asked
 * (`skipped`: no longer needs a request, paused, out of this minute's budget, or known to be
 * disconnected; `expired`: its certificate expired, so no direct method can reach it).
 */
export interface AskResult {
  kind: MethodOutcomeKind | 'skipped' | 'expired';
  hub: string;
  /** When it was answered (or found not to be asked). */
  at: string;
  /** For `error`: why, for the incident. */
  detail?: string;
  /**
   * For `skipped`: the device is known to be disconnected, so it was not called; its campaign
   * waits for it to connect (shared/domain/renewal/awaitConnection.ts).
   */
  awaitingConnection?: true;
}

/** The device was asked: the result is a method outcome, which counts against the budget. */
export function wasAsked(result: AskResult): result is AskResult & { kind: MethodOutcomeKind } {
  return result.kind !== 'skipped' && result.kind !== 'expired';
}
