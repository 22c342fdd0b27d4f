import { Command, Option } from 'commander';
import { REPORT_FILES, ReportFile } from '../app/reports/PointInTimeReports';
import { dateRangeFrom } from '../domain/audit/dateRange';
import { FleetSummary } from '../domain/reports/FleetSummary';
import { Services } from '../services';
import { UsageError } from './cliEnvironment';

export interface ArchivedReportContext {
  connect: () => Services;
  write: (text: string) => Promise<void>;
  fail: (message: string) => Error;
  describeSummary: (summary: FleetSummary) => string;
}

/**
 * `certfleet report --as-of DATE [--file summary|devices|findings] [--raw]`: the fleet as it
 * stood at the end of a past day, from the daily report in Blob Storage, checked against the
 * audit trail's report.written record of it before anything is printed (exit 1 when it is not
 * the file recorded). `certfleet report --list`: the days with a report.
 */
export function addArchivedReportOptions(report: Command, ctx: ArchivedReportContext): void {
  report
    .option(
      '--as-of <date>',
      'the fleet at the end of this past UTC day (YYYY-MM-DD), from its daily report',
    )
    .addOption(
      new Option('--file <file>', 'with --as-of: which file of the day')
        .choices(Object.keys(REPORT_FILES))
        .default('summary'),
    )
    .option('--raw', 'with --as-of: print the summary as it is stored (JSON)')
    .option('--list', 'list the days that have a daily report')
    .action(async (opts: { asOf?: string; file: ReportFile; raw?: boolean; list?: boolean }) => {
      const s = ctx.connect();
      if (opts.list) {
        const dates = await s.pointInTime.dates();
        await ctx.write(dates.length ? `${dates.join('\n')}\n` : 'no daily reports yet\n');
        return;
      }
      if (!opts.asOf) {
        report.outputHelp();
        throw new UsageError('give a report (summary, devices, trail), --as-of DATE, or --list');
      }
      const parsed = dateRangeFrom({ from: opts.asOf }, opts.asOf);
      if ('problem' in parsed) throw new UsageError('--as-of must be a UTC date, YYYY-MM-DD');
      const date = parsed.range.from;
      // Checked first, then printed: a file that is not the one recorded is never shown as if it were.
      const checked = await s.pointInTime.read(date, opts.file);
      if (!checked.found)
        throw ctx.fail(
          checked.missing
            ? `${checked.missing} is gone: the audit trail records it`
            : `no daily report for ${date} (certfleet report --list shows the days)`,
        );
      for await (const _chunk of checked.content);
      const check = checked.check();
      if (!check.ok) throw ctx.fail(check.problem);
      // The version checked, and no other (If-Match on its ETag).
      const shown = await s.pointInTime.read(
        date,
        opts.file,
        checked.etag ? { ifMatch: checked.etag } : {},
      );
      if (!shown.found) throw ctx.fail(`the daily report for ${date} vanished while being read`);
      if (opts.file === 'summary' && !opts.raw) {
        const chunks: Buffer[] = [];
        for await (const chunk of shown.content) chunks.push(chunk);
        const summary = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FleetSummary;
        await ctx.write(`the fleet at the end of ${date} (taken ${summary.at})\n`);
        await ctx.write(ctx.describeSummary(summary));
        await ctx.write(
          `the daily report's summary for ${date}: the file the audit trail recorded at ${check.recordedAt}\n`,
        );
        return;
      }
      // A character may straddle two chunks: decode as a stream.
      const decoder = new TextDecoder('utf-8');
      for await (const chunk of shown.content)
        await ctx.write(decoder.decode(chunk, { stream: true }));
      await ctx.write(decoder.decode());
      process.stderr.write(
        `certfleet: the daily report's ${opts.file} for ${date} is the file the audit trail recorded at ${check.recordedAt}\n`,
      );
    });
}
