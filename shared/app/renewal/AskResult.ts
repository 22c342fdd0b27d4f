import { MethodOutcomeKind } from '../../domain/renewal/MethodOutcome';

/**
 * What came of asking one device to renew: the direct method's outcome, or why it was not asked
 * (`skipped`: no longer needs a request, paused, or out of this minute's budget; `expired`: its
 * certificate expired, so no direct method can reach it).
 */
export interface AskResult {
  kind: MethodOutcomeKind | 'skipped' | 'expired';
  hub: string;
  /** When it was answered (or found not to be asked). */
  at: string;
  /** For `error`: why, for the incident. */
  detail?: string;
}

/** The device was asked: the result is a method outcome, which counts against the budget. */
export function wasAsked(result: AskResult): result is AskResult & { kind: MethodOutcomeKind } {
  return result.kind !== 'skipped' && result.kind !== 'expired';
}
