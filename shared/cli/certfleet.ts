#!/usr/bin/env node
import { createReadStream, existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { SettingsError, loadSettings } from '../config/settings';
import { Clock, DAY_MS, isoUtc, parseIsoInstant, systemClock } from '../domain/Clock';
import { forecastDemand } from '../domain/renewal/forecast';
import { BadAuditLine } from '../domain/AuditChain';
import { describeIngest, describeReconcile, describeSweep } from '../app/describeReports';
import { lookUpDevice } from '../app/lookUpDevice';
import { publicRecord } from '../app/publicRecord';
import { normalizeHubName } from '../domain/DeviceKey';
import { Services, buildServices } from '../services';
import { UsageError, cliEnvironment } from './cliEnvironment';
import { addAuditTrailCommands } from './auditTrailCommands';
import { addAlertCommands } from './alertCommands';
import { addRotationCommands } from './rotationCommands';
import { addReportCommands } from './reportCommands';
import { CSV_COLUMNS, csvRow } from './deviceCsv';
import { describeDevice } from './describeDevice';
import { ingestJsonLines } from './ingestJsonLines';
import { listenStopSignals } from './listenStopSignals';
import { OutputClosed, StandardOutput } from './StandardOutput';
import { WallPacedClock } from './WallPacedClock';

/** `certfleet listen` alone needs the Event Hubs SDKs: they load when it runs. */
type ListenModule = typeof import('./listen');

/**
 * certfleet's command line. Same settings and same code path as the Function app.
 * Exit codes: 0 success, 2 bad usage or settings, 1 failure; errors on stderr in one line.
 */
function connect(clock: Clock = systemClock, sleep?: (ms: number) => Promise<void>): Services {
  // Whatever time the run plans on, IoT Hub judges its tokens by real time.
  return buildServices(loadSettings(cliEnvironment()), {
    clock,
    tokenClock: systemClock,
    ...(sleep ? { sleep } : {}),
  });
}

/** Standard output of the run in progress (main sets it): a pipe's reader may go away. */
let stdout: StandardOutput | undefined;

function output(): StandardOutput {
  return (stdout ??= new StandardOutput(process.stdout));
}

function write(text: string): Promise<void> {
  return output().write(text);
}

export function buildProgram(): Command {
  const program = new Command('certfleet')
    .description(
      'Ledger, renewal safety net and audit trail for Azure IoT operational certificates',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output().line(text.replace(/\n$/, '')),
      writeErr: (text) => process.stderr.write(text),
    })
    .showHelpAfterError(false);

  program
    .command('ingest')
    .description('apply IoT Hub events (JSON Lines as Event Hubs delivers them) to the ledger')
    .argument('<file>', "JSON Lines file, or '-' for stdin")
    .action(async (file: string) => {
      if (file !== '-' && !existsSync(file)) throw new UsageError(`no such file: ${file}`);
      const s = connect();
      const input = file === '-' ? process.stdin : createReadStream(file);
      const total = await ingestJsonLines(input, {
        ingest: s.ingest,
        deadLetters: s.deadLetters,
        clock: systemClock,
      });
      await write(`${describeIngest(total)} written\n`);
    });

  program
    .command('listen')
    .description(
      'consume IoT Hub events from a real Event Hub (checkpoints in Blob Storage) until Ctrl-C',
    )
    .option(
      '--consumer-group <group>',
      'consumer group (default: CERTFLEET_EVENTHUB_CONSUMER_GROUP, else $Default)',
    )
    .option('--from-start', 'where no checkpoint exists yet, start at the earliest retained event')
    .option('--max-batch <n>', 'events per batch, 1 to 1000 (default 100)')
    .action(async (opts: { consumerGroup?: string; fromStart?: boolean; maxBatch?: string }) => {
      // The Event Hubs SDKs load for this command only.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
      const { listen }: ListenModule = require('./listen');
      await listen(opts, {
        env: cliEnvironment(),
        out: (line) => output().line(line),
        err: (line) => process.stderr.write(`certfleet listen: ${line}\n`),
        signals: listenStopSignals(output()),
      });
    });

  program
    .command('device')
    .description("show one device's ledger record")
    .argument('<deviceId>')
    .option('--hub <hub>', 'IoT Hub name, when the device id exists in several hubs')
    .option('--json', 'print the record as JSON')
    .action(async (deviceId: string, opts: { hub?: string; json?: boolean }) => {
      const s = connect();
      const lookup = await lookUpDevice(s.ledger, deviceId, opts.hub);
      if ('missing' in lookup)
        throw new NotFound(
          `device ${deviceId}${opts.hub ? ` in hub ${opts.hub}` : ''} is not in the ledger`,
        );
      if ('ambiguous' in lookup) {
        throw new UsageError(
          `device ${deviceId} exists in hubs ${lookup.ambiguous.join(', ')}: pass --hub`,
        );
      }
      const record = lookup.found;
      await write(
        opts.json
          ? `${JSON.stringify(publicRecord(record), null, 2)}\n`
          : `${describeDevice(record)}\n`,
      );
    });

  program
    .command('devices')
    .description('print the whole ledger, streamed')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['json', 'jsonl', 'csv'])
        .default('json'),
    )
    .option('--hub <hub>', 'only this hub')
    .action(async (opts: { format: 'json' | 'jsonl' | 'csv'; hub?: string }) => {
      const s = connect();
      const records = s.ledger.list(opts.hub ? { hub: normalizeHubName(opts.hub) } : {});
      if (opts.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\n`);
      if (opts.format === 'json') await write('[');
      let first = true;
      for await (const record of records) {
        if (opts.format === 'csv') await write(`${csvRow(record)}\n`);
        else if (opts.format === 'jsonl') await write(`${JSON.stringify(publicRecord(record))}\n`);
        else await write(`${first ? '\n' : ',\n'}${JSON.stringify(publicRecord(record))}`);
        first = false;
      }
      if (opts.format === 'json') await write(first ? ']\n' : '\n]\n');
    });

  program
    .command('sweep')
    .description('run one renewal sweep and print what it did (or, with --dry-run, would do)')
    .option('--now <iso>', 'run as if it were this UTC time (ISO 8601)')
    .option('--dry-run', 'plan only: ask no device, change nothing')
    .option(
      '--all',
      `with --dry-run, list every device it would ask (not only the first ${DRY_RUN_LISTED})`,
    )
    .option('--json', 'print the report as JSON, with every device planned')
    .action(async (opts: { now?: string; dryRun?: boolean; all?: boolean; json?: boolean }) => {
      // With --now the plan is made at that time, but the calls it makes reach a real hub: their
      // pacing waits are real, on the wall clock.
      const paced = opts.now
        ? new WallPacedClock(new Date(checkInstant(opts.now, '--now')))
        : undefined;
      const s = paced ? connect(paced, paced.sleep) : connect();
      const report = await s.renewals.sweep({ dryRun: opts.dryRun ?? false });
      if (opts.json) return write(`${JSON.stringify(report, null, 2)}\n`);
      await write(`${describeSweep(report)}\n`);
      if (report.dryRun) {
        const listed = opts.all ? report.planned : report.planned.slice(0, DRY_RUN_LISTED);
        for (const p of listed) {
          await write(
            `  would ask ${p.hub}/${p.deviceId} at ${p.startAt} (${p.reason}; expires ${p.validUntil})\n`,
          );
        }
        const rest = report.planned.length - listed.length;
        if (rest > 0) {
          await write(`  … and ${rest} more (--all lists them, --json prints the plan as JSON)\n`);
        }
      }
    });

  program
    .command('forecast')
    .description('renewal demand per day against capacity; names the days over capacity')
    .option('--days <n>', 'days ahead', '30')
    .option('--now <iso>', 'forecast from this UTC time (ISO 8601)')
    .action(async (opts: { days: string; now?: string }) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 366)
        throw new UsageError('--days must be a whole number from 1 to 366');
      const s = connect();
      const now = opts.now ? checkInstant(opts.now, '--now') : isoUtc(systemClock.now());
      const entries = [];
      for await (const e of s.ledger.actionsDueBefore(
        new Date(Date.parse(now) + days * DAY_MS).toISOString(),
      ))
        entries.push(e);
      const rows = forecastDemand(entries, now, days, s.settings.renewal.renewalsPerMinute);
      await write('date        renewals due  expiring  capacity\n');
      for (const r of rows) {
        await write(
          `${r.date}  ${String(r.due).padStart(12)}  ${String(r.expiring).padStart(8)}  ${String(r.capacity).padStart(8)}${r.overCapacity ? '  OVER CAPACITY' : ''}\n`,
        );
      }
      const over = rows.filter((r) => r.overCapacity).map((r) => r.date);
      await write(over.length ? `over capacity: ${over.join(', ')}\n` : 'no day over capacity\n');
    });

  program
    .command('backfill')
    .description(
      "import the fleet from IoT Hub's twin query and catch up on missed events, paced under the query quota",
    )
    .option('--hub <hub>', 'only this hub (default: every configured hub)')
    .action(async (opts: { hub?: string }) => {
      const s = connect();
      if (!s.reconcile) {
        throw new UsageError(
          'no IoT Hub is configured: set IotHub (service connection strings) or IotHub__fullyQualifiedName',
        );
      }
      const configured = s.reconcile.hubs;
      const hub = opts.hub !== undefined ? normalizeHubName(opts.hub) : undefined;
      if (hub !== undefined && configured.length > 0 && !configured.includes(hub)) {
        throw new UsageError(`hub ${hub} is not configured (configured: ${configured.join(', ')})`);
      }
      if (hub === undefined && configured.length === 0) {
        throw new UsageError('CERTFLEET_IOTHUB_ENDPOINT alone names no hub: pass --hub');
      }
      const report = await s.reconcile.reconcile(hub !== undefined ? { hubs: [hub] } : {});
      for (const line of describeReconcile(report)) await write(`${line}\n`);
      const failed = report.hubs.filter((h) => h.outcome === 'failed').map((h) => h.hub);
      if (failed.length > 0) throw new Failure(`backfill failed for hub ${failed.join(', ')}`);
    });

  program
    .command('ledger')
    .description('the ledger tables')
    .command('migrate')
    .description(
      "move every record of the ledger's earlier tables (<prefix>devices, <prefix>due) into <prefix>ledger, then delete them; safe to run again, and beside the running app",
    )
    .action(async () => {
      const s = connect();
      const done = await s.migrateLedger((counts) => {
        process.stderr.write(
          `certfleet ledger migrate: ${counts.moved + counts.alreadyMoved} records so far\n`,
        );
      });
      await write(
        `moved ${done.moved} records; ${done.alreadyMoved} were already moved by the app\n`,
      );
      if (done.left > 0)
        throw new Failure(
          `${done.left} records could not be moved (the new table refused them); the earlier tables are kept`,
        );
      await write(
        done.legacyDropped
          ? 'the earlier tables are deleted\n'
          : 'no earlier tables with records: nothing to do\n',
      );
    });

  const audit = program.command('audit').description('the audit trail and the fleet audit checks');
  audit
    .command('checks')
    .description(
      'run the fleet audit checks (expiring certificates and CAs, shared certificates and keys, weak keys, long validity, distrusted issuers, keys not rotated); exits 1 when something is found',
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await connect().fleetAudit.run();
      if (opts.json) await write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        await write(`fleet audit at ${report.at}: ${report.devicesChecked} devices checked\n`);
        for (const [check, count] of Object.entries(report.counts))
          await write(`  ${check.padEnd(28)} ${count}\n`);
        for (const f of report.findings) {
          const about = f.devices.length > 0 ? f.devices.join(', ') : (f.ca ?? '');
          await write(`${f.severity.toUpperCase().padEnd(8)} ${f.check}: ${about}: ${f.summary}\n`);
        }
      }
      if (report.findings.length > 0) throw new Failure(`${report.findings.length} audit findings`);
    });
  addAuditTrailCommands(audit, {
    connect: () => connect(),
    write,
    fail: (message) => new Failure(message),
  });
  audit
    .command('show')
    .description(
      "print one UTC date's audit records as JSON Lines; bad lines are named on stderr and left out",
    )
    .requiredOption('--date <date>', 'UTC date, YYYY-MM-DD')
    .action(async (opts: { date: string }) => {
      const date = checkDate(opts.date);
      const s = connect();
      let badLines = 0;
      const onBadLine = (bad: BadAuditLine) => {
        badLines += 1;
        process.stderr.write(
          `certfleet: ${bad.blob} line ${bad.line}: ${bad.problem} (left out)\n`,
        );
      };
      for await (const entry of s.audit.readDate(date, { onBadLine }))
        await write(`${JSON.stringify(entry)}\n`);
      if (badLines > 0)
        throw new Failure(`${badLinesText(badLines)} in the audit trail for ${date}`);
    });

  addAlertCommands(program, {
    connect: () => connect(),
    write,
    fail: (message) => new Failure(message),
  });
  addReportCommands(program, { connect: () => connect(), write, fail: (m) => new Failure(m) });
  addRotationCommands(program, { connect: () => connect(), write, fail: (m) => new Failure(m) });

  program
    .command('deadletters')
    .description('print the dead letters as JSON Lines')
    .action(async () => {
      const s = connect();
      for await (const letter of s.deadLetters.list()) await write(`${JSON.stringify(letter)}\n`);
    });

  return program;
}

/** How many devices `sweep --dry-run` lists without --all. */
const DRY_RUN_LISTED = 50;

function checkInstant(value: string, option: string): string {
  const parsed = parseIsoInstant(value);
  if (!parsed) throw new UsageError(`${option} must be an ISO 8601 time with a zone, got ${value}`);
  return isoUtc(parsed);
}

function checkDate(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new UsageError(`--date must be YYYY-MM-DD, got ${date}`);
  }
  return date;
}

/** "1 bad line", "2 bad lines". */
function badLinesText(count: number): string {
  return `${count} bad line${count === 1 ? '' : 's'}`;
}

class NotFound extends Error {}
class Failure extends Error {}

/**
 * Runs the CLI, writing to `out` (standard output); resolves to the process exit code. When the
 * reader of `out` goes away (`certfleet devices | head`), the command stops writing and ends
 * quietly with 0, as a Unix tool ends on SIGPIPE: the reader has what it wanted.
 */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const run = new StandardOutput(out);
  stdout = run;
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof OutputClosed) {
      if (error.readerGone) return 0;
      process.stderr.write(`certfleet: ${error.message}\n`);
      return 1;
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      return 2; // commander has already printed the message
    }
    const message = (error as Error).message ?? String(error);
    process.stderr.write(`certfleet: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (error instanceof UsageError || error instanceof SettingsError) return 2;
    return 1;
  } finally {
    run.release();
    if (stdout === run) stdout = undefined;
  }
}

if (require.main === module) {
  // `certfleet … 2>&1 | head`: an error line that finds no reader is dropped, not a crash.
  process.stderr.on('error', () => undefined);
  // main() answers every failure with an exit code; it never rejects.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
