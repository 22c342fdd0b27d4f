import { FleetSummary } from './FleetSummary';

/** Problems listed one by one up to this many; the rest are counted. */
const MAX_LISTED = 20;

/** The tally of a summary's consistency checks: how many ran, and what the failing ones found. */
export class ConsistencyChecks {
  private checks = 0;
  private readonly problems: string[] = [];

  /** One check; its problem is described only when it fails. */
  check(ok: boolean, problem: () => string): void {
    this.checks += 1;
    if (!ok) this.problems.push(problem());
  }

  /** The summary's `consistency`, problems in the order the checks found them. */
  result(): FleetSummary['consistency'] {
    const problems = this.problems;
    const listed = problems.slice(0, MAX_LISTED);
    if (problems.length > MAX_LISTED) listed.push(`… and ${problems.length - MAX_LISTED} more`);
    return { ok: problems.length === 0, checks: this.checks, problems: listed };
  }
}
