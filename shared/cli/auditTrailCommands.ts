import { Command, Option } from 'commander';
import { TrailVerificationReport } from '../app/audit/VerifyAuditTrail';
import { DateRange, dateRangeFrom } from '../domain/audit/dateRange';
import { datesBetween } from '../domain/audit/TrailVerification';
import { CheckpointKind } from '../domain/audit/Checkpoint';
import { Services } from '../services';
import { UsageError } from './cliEnvironment';

export interface AuditTrailCommandsContext {
  connect: () => Services;
  write: (text: string) => Promise<void>;
  /** Thrown for a run that did what it could and failed (exit code 1). */
  fail: (message: string) => Error;
}

const CHAIN_ONLY_WARNING =
  'no checkpoint key is configured (CERTFLEET_CHECKPOINT_KEY_ID or CERTFLEET_CHECKPOINT_KEY_FILE): ' +
  'checking hash chains only, which cannot see a deleted last record, a truncated or removed blob, or a rewritten chain';

/**
 * `certfleet audit verify [--from D] [--to D] [--date D] [--json]`: the trail of those UTC dates
 * against the signed checkpoints; exits 1 on any problem. `certfleet audit checkpoint`: takes a
 * signed checkpoint now (the Function app's timer takes one hourly).
 */
export function addAuditTrailCommands(audit: Command, ctx: AuditTrailCommandsContext): void {
  audit
    .command('verify')
    .description(
      'verify the audit trail of a range of UTC dates against its signed checkpoints (hash chains, records deleted, truncated, rewritten or slipped in, blobs removed, checkpoints deleted or altered); exits 1 on any problem',
    )
    .option('--from <date>', 'first UTC date, YYYY-MM-DD (default: --to, or today)')
    .option('--to <date>', 'last UTC date, YYYY-MM-DD (default: --from, or today)')
    .option('--date <date>', 'one UTC date: the same as --from D --to D')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { from?: string; to?: string; date?: string; json?: boolean }) => {
      if (opts.date && (opts.from || opts.to))
        throw new UsageError('--date is one date: give it, or --from and --to, not both');
      const s = ctx.connect();
      const today = new Date().toISOString().slice(0, 10);
      const parsed = dateRangeFrom(
        opts.date ? { from: opts.date, to: opts.date } : opts,
        s.verifyTrail?.today() ?? today,
      );
      if ('problem' in parsed) throw new UsageError(`--${parsed.problem}`);
      if (!s.verifyTrail) {
        process.stderr.write(`certfleet: ${CHAIN_ONLY_WARNING}\n`);
        return verifyChainsOnly(s, parsed.range, ctx);
      }
      const report = await s.verifyTrail.run(parsed.range);
      if (opts.json) await ctx.write(`${JSON.stringify(report, null, 2)}\n`);
      else await ctx.write(describeVerification(report));
      if (!report.ok)
        throw ctx.fail(`${count(report.problems.length, 'problem')} in the audit trail`);
    });
  audit
    .command('checkpoint')
    .description('take a signed checkpoint of the audit trail now')
    .addOption(
      new Option('--kind <kind>', 'daily lists every date; hourly only those that changed')
        .choices(['manual', 'hourly', 'daily'])
        .default('manual'),
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: { kind: CheckpointKind; json?: boolean }) => {
      const s = ctx.connect();
      if (!s.checkpoints)
        throw new UsageError(
          'no checkpoint key is configured: set CERTFLEET_CHECKPOINT_KEY_ID (a Key Vault key) or CERTFLEET_CHECKPOINT_KEY_FILE',
        );
      const report = await s.checkpoints.run(opts.kind);
      if (opts.json) await ctx.write(`${JSON.stringify(report, null, 2)}\n`);
      else
        await ctx.write(
          `checkpoint ${report.seq} (${report.kind}${report.full ? ', every date' : ''}) at ${report.at}: ` +
            `${count(report.dates, 'date')}, ${count(report.blobs, 'blob')}, ${count(report.records, 'record')}; ` +
            `${count(report.changedBlobs, 'blob')} changed since the one before\n` +
            report.problems.map((p) => `PROBLEM ${p}\n`).join(''),
        );
      if (report.problems.length > 0)
        throw ctx.fail(`${count(report.problems.length, 'blob')} did not add up (tampering?)`);
    });
}

/** The report as an auditor reads it: the checkpoints, the counts, each problem, the verdict. */
export function describeVerification(report: TrailVerificationReport): string {
  const lines: string[] = [];
  const newest = report.checkpoints.newest;
  lines.push(
    `checkpoints: ${report.checkpoints.read} read, ${report.checkpoints.valid} verify` +
      (newest ? `; newest ${newest.seq} at ${newest.at}` : ''),
  );
  const range = report.from === report.to ? report.from : `${report.from} to ${report.to}`;
  lines.push(
    `${range}: ${count(report.blobs, 'blob')}, ${count(report.records, 'record')} ` +
      `(${report.sealed} sealed, ${report.pending.records} pending the next checkpoint)` +
      (report.recordedBreaks ? `, ${count(report.recordedBreaks, 'recorded break')}` : ''),
  );
  for (const p of report.problems) lines.push(`PROBLEM ${p.kind.padEnd(26)} ${p.message}`);
  for (const b of report.pending.blobs)
    lines.push(`pending ${b.name} lines ${b.lines.from}-${b.lines.to}`);
  lines.push(
    report.ok
      ? `ok: the trail of ${range} is complete and unaltered up to checkpoint ${newest?.seq} (${newest?.at})`
      : `FAILED: ${count(report.problems.length, 'problem')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Without a checkpoint key: each date's hash chains, as far as an unkeyed chain can tell. */
async function verifyChainsOnly(
  s: Services,
  range: DateRange,
  ctx: AuditTrailCommandsContext,
): Promise<void> {
  let brokenDates = 0;
  for (const date of datesBetween(range.from, range.to)) {
    const verification = await s.audit.verifyDate(date);
    let broken = 0;
    let badLines = 0;
    let silent = 0;
    for (const blob of verification.blobs) {
      const r = blob.result;
      if (r.ok) {
        await ctx.write(`ok      ${blob.name}: ${r.records} records\n`);
        continue;
      }
      broken += 1;
      await ctx.write(
        `BROKEN  ${blob.name}: ${r.records} records, ${count(r.breaks.length, 'bad line')}\n`,
      );
      // A recorded break was found by an append, which went on in a new segment; a silent one
      // was not (an edit, or a corrupt end nothing has been appended after yet).
      for (const bad of r.breaks) {
        badLines += 1;
        if (!bad.recordedIn) silent += 1;
        await ctx.write(
          `        line ${bad.line}: ${bad.problem}; ${bad.recordedIn ? `break recorded in ${bad.recordedIn}` : 'silent: no record of this break'}\n`,
        );
      }
    }
    const bad = broken > 0 ? `; ${count(badLines, 'bad line')}, ${silent} silent` : '';
    await ctx.write(`${verification.blobs.length} blobs for ${date}, ${broken} broken${bad}\n`);
    if (broken > 0) brokenDates += 1;
  }
  if (brokenDates > 0) {
    const which =
      range.from === range.to ? `for ${range.from}` : `on ${count(brokenDates, 'date')}`;
    throw ctx.fail(`audit trail ${which} fails verification`);
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
