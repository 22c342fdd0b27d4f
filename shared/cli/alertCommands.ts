import { Command, Option } from 'commander';
import { alertFilterFrom, listAlerts } from '../app/alerts/listAlerts';
import { testSinks } from '../app/alerts/testSinks';
import { isoUtc } from '../domain/Clock';
import { Services } from '../services';
import { UsageError } from './cliEnvironment';

export interface AlertCommandsContext {
  connect: () => Services;
  write: (text: string) => Promise<void>;
  /** Thrown for a run that did what it could and failed (exit code 1). */
  fail: (message: string) => Error;
}

/**
 * `certfleet alerts [--all] [--json] [--severity S] [--rule R] [--scope S] [--hub H]`: the open
 * alerts, critical first; device alerts a fleet alert speaks for are counted, and listed with
 * --all. `certfleet alerts test`: a test notification to every configured sink.
 */
export function addAlertCommands(program: Command, ctx: AlertCommandsContext): void {
  const alerts = program
    .command('alerts')
    .description('the open alerts, critical first (alerts test: try every configured sink)')
    .option('--all', 'also list the device alerts that fleet alerts speak for')
    .option('--json', 'print them as JSON')
    .addOption(new Option('--severity <severity>', 'only these').choices(['warning', 'critical']))
    .option('--rule <rule>', 'only this rule')
    .addOption(new Option('--scope <scope>', 'only these').choices(['device', 'fleet']))
    .option('--hub <hub>', 'only this hub')
    .action(
      async (opts: {
        all?: boolean;
        json?: boolean;
        severity?: string;
        rule?: string;
        scope?: string;
        hub?: string;
      }) => {
        const parsed = alertFilterFrom(opts);
        if ('problem' in parsed) throw new UsageError(`--${parsed.problem}`);
        const s = ctx.connect();
        const all = await listAlerts(s.alertStore, parsed.filter);
        const shown = opts.all ? all : all.filter((a) => a.rolledUpInto === undefined);
        if (opts.json) return ctx.write(`${JSON.stringify(shown, null, 2)}\n`);
        if (shown.length === 0) return ctx.write('no open alerts\n');
        for (const a of shown) {
          const about =
            a.scope === 'fleet'
              ? `fleet (${a.count} devices: ${(a.sample ?? []).join(', ')}${(a.count ?? 0) > (a.sample?.length ?? 0) ? ', …' : ''})`
              : `${a.hub}/${a.deviceId}`;
          await ctx.write(
            `${a.severity.toUpperCase().padEnd(8)} ${a.rule.padEnd(22)} ${about}  since ${a.raisedAt}\n` +
              `         ${a.summary}\n`,
          );
        }
        const hidden = all.length - shown.length;
        if (hidden > 0)
          await ctx.write(
            `… and ${hidden} device alerts the fleet alerts above speak for (--all lists them)\n`,
          );
      },
    );

  alerts
    .command('test')
    .description('send a test notification to every configured sink and report each answer')
    .action(async () => {
      const s = ctx.connect();
      if (s.alertSinks.length === 0)
        throw ctx.fail(
          'no alert sink is configured (CERTFLEET_ALERT_WEBHOOK_URL, _TEAMS_URL, _SLACK_URL, _EVENTGRID_ENDPOINT)',
        );
      const results = await testSinks(s.alertSinks, isoUtc(new Date()));
      for (const r of results) {
        await ctx.write(
          r.ok
            ? `${r.sink}: accepted\n`
            : `${r.sink}: FAILED: ${r.detail}${r.retryable ? ' (worth retrying)' : ''}\n`,
        );
      }
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) throw ctx.fail(`${failed} of ${results.length} sinks failed the test`);
    });
}
