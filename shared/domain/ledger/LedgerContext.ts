// What applying a ledger event depends on besides the event and the record: the clock's time,
// the renewal policies and the limits. The caller passes them in, so the ledger stays pure.
import { SeverityOverrides } from '../Finding';
import { CohortPolicy, RenewalPolicy } from '../RenewalPolicy';
import { RenewalTiming } from '../renewal/RenewalTiming';

export interface LedgerContext {
  /** The clock's time, stamped on what certfleet records. */
  now: string;
  /** The default renewal policy. */
  policy: RenewalPolicy;
  /** Policies for cohorts (by twin tag or issuer); the first that matches wins. */
  cohortPolicies?: readonly CohortPolicy[];
  /** The renewal state machine's patience (a bad renewed certificate counts as a failure). */
  timing?: RenewalTiming;
  /** Bytes of one PEM string of a report (`pem`, each of `chain`). */
  maxPemBytes: number;
  /** Finding severities the operator chose (CERTFLEET_CN_MISMATCH_SEVERITY). */
  findingSeverities?: SeverityOverrides;
}
