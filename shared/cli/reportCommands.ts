import { Command, Option } from 'commander';
import { BadAuditLine } from '../domain/AuditChain';
import { auditTrailQueryFrom } from '../domain/reports/AuditTrailQuery';
import { DeviceHistory } from '../domain/reports/DeviceHistory';
import { dateOrInstant, deviceFilterFrom } from '../domain/reports/DeviceFilter';
import { FleetSummary } from '../domain/reports/FleetSummary';
import { REPORT_FORMATS, ReportFormat } from '../domain/reports/reportText';
import { Services } from '../services';
import { UsageError } from './cliEnvironment';
import { addArchivedReportOptions } from './archivedReportCommand';

export interface ReportCommandsContext {
  connect: () => Services;
  write: (text: string) => Promise<void>;
  /** Thrown for a run that did what it could and failed (exit code 1). */
  fail: (message: string) => Error;
}

/**
 * The reports for auditors (shared/app/reports/FleetReports.ts):
 * - `certfleet report summary [--json]`: the fleet at a glance;
 * - `certfleet report devices [--format json|jsonl|csv] [filters]`: the device list, streamed;
 * - `certfleet report trail --from D --to D [--device ID] [--hub H] [--type T…]`: the audit
 *   trail's records as JSON Lines;
 * - `certfleet history DEVICE_ID [--hub H] [--from D] [--to D] [--json]`: one device's history.
 * A filter value that means nothing (an unknown state, a date that is no date) is a usage error
 * (exit 2) named by its option.
 */
export function addReportCommands(program: Command, ctx: ReportCommandsContext): void {
  const report = program.command('report').description('fleet reports for auditors');
  addArchivedReportOptions(report, { ...ctx, describeSummary });

  report
    .command('summary')
    .description(
      'the fleet at a glance: devices by state, issuer, key, hub and cohort; expiries; renewal outcomes; open alerts; audit findings',
    )
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { json?: boolean }) => {
      const summary = await ctx.connect().reports.summary();
      await ctx.write(
        opts.json ? `${JSON.stringify(summary, null, 2)}\n` : describeSummary(summary),
      );
    });

  report
    .command('devices')
    .description('the fleet devices that pass the filters, streamed')
    .addOption(
      new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('json'),
    )
    .option('--state <state>', 'renewal state (healthy, due, …; unknown: no certificate yet)')
    .option('--expiring-before <date>', 'certificates valid until before this UTC date or time')
    .option('--issuer <dn>', "the certificate's issuer DN (unknown: none reported)")
    .option('--hub <hub>', 'only this hub')
    .option('--cohort <cohort>', 'only this cohort (default: devices in none)')
    .option('--finding <name>', 'a fleet audit check or a finding code on the device')
    .action(
      async (opts: {
        format: ReportFormat;
        state?: string;
        expiringBefore?: string;
        issuer?: string;
        hub?: string;
        cohort?: string;
        finding?: string;
      }) => {
        const { format, ...query } = opts;
        const parsed = deviceFilterFrom(query);
        if ('problem' in parsed) throw new UsageError(`--${optionNamed(parsed.problem)}`);
        for await (const chunk of ctx.connect().reports.deviceText(format, parsed.filter))
          await ctx.write(chunk);
      },
    );

  report
    .command('trail')
    .description(
      "the audit trail's records from one time to another, as JSON Lines; bad lines are named on stderr and left out",
    )
    .requiredOption('--from <date>', 'UTC date (YYYY-MM-DD, from its start) or ISO 8601 time')
    .requiredOption('--to <date>', 'UTC date (YYYY-MM-DD, to its end) or ISO 8601 time')
    .option('--device <deviceId>', 'only this device')
    .option('--hub <hub>', 'only this hub')
    .option('--type <type...>', 'only these record types (renewal.due, alert.raised, …)')
    .action(
      async (opts: {
        from: string;
        to: string;
        device?: string;
        hub?: string;
        type?: string[];
      }) => {
        const parsed = auditTrailQueryFrom({ ...opts, types: opts.type });
        if ('problem' in parsed) throw new UsageError(`--${parsed.problem}`);
        let badLines = 0;
        const onBadLine = (bad: BadAuditLine) => {
          badLines += 1;
          process.stderr.write(
            `certfleet: ${bad.blob} line ${bad.line}: ${bad.problem} (left out)\n`,
          );
        };
        for await (const entry of ctx.connect().reports.trail(parsed.query, { onBadLine }))
          await ctx.write(`${JSON.stringify(entry)}\n`);
        if (badLines > 0)
          throw ctx.fail(`${badLines} bad line${badLines === 1 ? '' : 's'} in the audit trail`);
      },
    );

  program
    .command('history')
    .description(
      "one device's history: every certificate it held, every renewal campaign (who asked, each attempt, the outcome), its findings and alerts",
    )
    .argument('<deviceId>')
    .option('--hub <hub>', 'IoT Hub name, when the device id exists in several hubs')
    .option('--from <date>', 'read the audit trail from this UTC date (default: first seen)')
    .option('--to <date>', 'read the audit trail to this UTC date (default: today)')
    .option('--json', 'print the history as JSON')
    .action(
      async (
        deviceId: string,
        opts: { hub?: string; from?: string; to?: string; json?: boolean },
      ) => {
        const from = opts.from !== undefined ? dateOption(opts.from, '--from') : undefined;
        const to = opts.to !== undefined ? dateOption(opts.to, '--to') : undefined;
        const lookup = await ctx.connect().reports.history(deviceId, {
          ...(opts.hub !== undefined ? { hub: opts.hub } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        });
        if ('missing' in lookup) {
          throw ctx.fail(
            `device ${deviceId}${opts.hub ? ` in hub ${opts.hub}` : ''} is not in the ledger`,
          );
        }
        if ('ambiguous' in lookup) {
          throw new UsageError(
            `device ${deviceId} exists in hubs ${lookup.ambiguous.join(', ')}: pass --hub`,
          );
        }
        await ctx.write(
          opts.json ? `${JSON.stringify(lookup.found, null, 2)}\n` : describeHistory(lookup.found),
        );
      },
    );
}

/** The filter's problems name the query field; the CLI's options are its kebab-case. */
function optionNamed(problem: string): string {
  return problem.replace(/^expiringBefore\b/, 'expiring-before');
}

function dateOption(value: string, option: string): string {
  const instant = dateOrInstant(value);
  if (instant === undefined)
    throw new UsageError(`${option} must be a UTC date (YYYY-MM-DD), got ${printable(value)}`);
  return instant.slice(0, 10);
}

/** `certfleet report summary`: the summary as a person reads it in a terminal. */
export function describeSummary(s: FleetSummary): string {
  const counts = (record: Record<string, number>, all = false) =>
    Object.entries(record)
      .filter(([, n]) => all || n > 0)
      .map(([k, n]) => `${printable(k)} ${n}`)
      .join(', ') || 'none';
  const expiring = s.expiryHistogram.reduce((sum, d) => sum + d.devices, 0);
  const within = (days: number) =>
    s.expiryHistogram.slice(0, days).reduce((sum, d) => sum + d.devices, 0);
  const outcomes = s.renewalOutcomes.reduce(
    (sum, d) => ({
      renewed: sum.renewed + d.renewed,
      failed: sum.failed + d.failed,
      expired: sum.expired + d.expired,
    }),
    { renewed: 0, failed: 0, expired: 0 },
  );
  const lines = [
    `fleet summary at ${s.at}: ${s.devices} devices, ${s.expired} with an expired certificate`,
    `  by state        ${counts(s.byState)}`,
    `  by issuer       ${counts(s.byIssuer)}`,
    `  by key          ${counts(s.byKeyAlgorithm)}`,
    `  by hub          ${counts(s.byHub)}`,
    `  by cohort       ${counts(s.byCohort)}`,
    `expiring in the next 90 days: ${expiring} (7 days: ${within(7)}, 30 days: ${within(30)})`,
  ];
  for (const d of s.expiryHistogram)
    if (d.devices > 0) lines.push(`  ${d.date}  ${String(d.devices).padStart(7)}`);
  lines.push(
    `renewal outcomes, last 30 days: renewed ${outcomes.renewed}, failed ${outcomes.failed}, expired ${outcomes.expired}`,
  );
  for (const d of s.renewalOutcomes) {
    if (d.renewed + d.failed + d.expired > 0) {
      lines.push(
        `  ${d.date}  renewed ${String(d.renewed).padStart(6)}  failed ${String(d.failed).padStart(5)}  expired ${String(d.expired).padStart(5)}`,
      );
    }
  }
  lines.push(
    `open alerts: ${s.openAlerts.total} (${counts(s.openAlerts.bySeverity, true)})`,
    `  by rule         ${counts(s.openAlerts.byRule)}`,
    `audit findings:`,
  );
  for (const [check, n] of Object.entries(s.findings)) lines.push(`  ${check.padEnd(28)} ${n}`);
  return `${lines.join('\n')}\n`;
}

/** `certfleet history`: a device's history as a person reads it in a terminal. */
export function describeHistory(h: DeviceHistory): string {
  const lines = [
    `${h.hub}/${printable(h.deviceId)}  ${h.lifecycle}, renewal ${h.renewalStatus}${h.createdAt ? `; created ${h.createdAt}` : ''}${h.deletedAt ? `; deleted ${h.deletedAt}` : ''}`,
    `certificates (${h.certificates.length}):`,
  ];
  for (const c of h.certificates) {
    const id = c.thumbprintSha256
      ? `sha256 ${c.thumbprintSha256}`
      : c.serialNumber
        ? `serial ${printable(c.serialNumber)}`
        : `from ${c.source === 'pem' ? 'PEM' : 'reported dates'}`;
    lines.push(
      `  first seen ${c.firstSeenAt}  valid ${c.validFrom} -> ${c.validUntil}  ${id}${c.current ? '  (current)' : ''}`,
    );
    if (c.issuer) lines.push(`    issuer ${printable(c.issuer)}`);
  }
  lines.push(`renewal campaigns (${h.campaigns.length}):`);
  for (const c of h.campaigns) {
    const ended = c.endedAt ? ` at ${c.endedAt}` : '';
    lines.push(
      `  ${c.startedAt ?? 'start not in the dates read'}  ${c.trigger ?? 'due'}: ${c.outcome}${ended}, ${c.attempts.length} attempts${c.detail ? ` (${printable(c.detail)})` : ''}`,
    );
    if (c.requestedBy)
      lines.push(
        `    asked by ${printable(c.requestedBy)}${c.reason ? `: ${printable(c.reason)}` : ''}`,
      );
    for (const a of c.attempts) {
      lines.push(
        `    attempt ${a.at}  ${a.outcome ?? 'unknown'}${a.status !== null ? ` (${a.status})` : ''}`,
      );
    }
    for (const f of c.failures) lines.push(`    failed  ${f.at}  ${printable(f.reason ?? '')}`);
  }
  lines.push(`certificate events (${h.events.length}):`);
  for (const e of h.events)
    lines.push(`  ${e.at}  ${e.type}${e.detail ? `: ${printable(e.detail)}` : ''}`);
  lines.push(`findings (${h.findings.length}):`);
  for (const f of h.findings)
    lines.push(`  [${f.severity}] ${f.code}: ${printable(f.message)} (${f.detectedAt})`);
  lines.push(`open alerts (${h.alerts.open.length}):`);
  for (const a of h.alerts.open)
    lines.push(`  ${a.severity.toUpperCase().padEnd(8)} ${a.rule} since ${a.raisedAt}`);
  lines.push(`alert transitions (${h.alerts.transitions.length}):`);
  for (const t of h.alerts.transitions)
    lines.push(`  ${t.at}  ${t.kind.padEnd(9)} ${t.severity.padEnd(8)} ${t.rule}`);
  const bad = h.trail.badLines > 0 ? `, ${h.trail.badLines} bad lines left out` : '';
  lines.push(
    `audit trail read: ${h.trail.from} to ${h.trail.to} (${h.trail.dates} dates, ${h.trail.records} records${bad})`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Text a device sent (an issuer, a message quoting it) shown in a terminal: the characters
 * shared/domain/plainText.ts refuses in typed text (C0 and C1 controls, DEL, line separators,
 * bidirectional overrides and isolates) are written as `\uXXXX`, so a device cannot move the
 * cursor, recolour an auditor's screen or reorder what it reads.
 */
function printable(text: string): string {
  let out = '';
  for (const c of text) {
    const unit = c.charCodeAt(0);
    const hides =
      unit <= 0x1f ||
      (unit >= 0x7f && unit <= 0x9f) ||
      unit === 0x2028 ||
      unit === 0x2029 ||
      (unit >= 0x202a && unit <= 0x202e) ||
      (unit >= 0x2066 && unit <= 0x2069);
    out += hides ? `\\u${unit.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}
