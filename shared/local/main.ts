import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../config/settings';
import { describeVerification } from '../cli/auditTrailCommands';
import { ManualClock } from '../domain/Clock';
import { useServices } from '../services';
import {
  SimulatedFleet,
  defaultFleetOptions,
  describeSummary,
  runSimulatedFleet,
} from '../simulation/fleet';
import { LocalHost } from './LocalHost';
import { startAzurite } from './azurite';
import { httpTriggers } from './triggerDefinitions';

/**
 * `npm start`: certfleet end to end on this machine, on embedded defaults. Starts Azurite, runs
 * a simulated fleet (a few hundred devices with real keys, certificates from a local CA through
 * a stand-in DPS) for a few months of virtual time through certfleet's real handlers, sweeps and
 * storage, prints the summary, then serves certfleet's HTTP API on http://localhost:7071 with
 * the Functions' own routes until Ctrl-C.
 *
 *   npm start                      the default fleet, then serve
 *   npm start -- --exit            exit after the summary
 *   npm start -- --devices 500 --days 60 --seed 7 --port 7072
 */
interface Options {
  exit: boolean;
  devices?: number;
  days?: number;
  seed: number;
  port: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { exit: false, seed: 1, port: 7071 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${arg} takes a positive whole number`);
      return v;
    };
    if (arg === '--exit') options.exit = true;
    else if (arg === '--devices') options.devices = value();
    else if (arg === '--days') options.days = value();
    else if (arg === '--seed') options.seed = value();
    else if (arg === '--port') options.port = value();
    else
      throw new Error(
        `unknown option ${arg} (known: --exit, --devices N, --days N, --seed N, --port N)`,
      );
  }
  return options;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const fleetOptions = {
    ...defaultFleetOptions(args.seed),
    ...(args.devices ? { devices: args.devices } : {}),
    ...(args.days ? { days: args.days } : {}),
  };
  process.stdout.write('certfleet: starting Azurite on free loopback ports…\n');
  const azurite = await startAzurite();
  let host: LocalHost | undefined;
  const stop = async () => {
    await host?.close();
    await azurite.stop();
  };
  try {
    const clock = new ManualClock(fleetOptions.start);
    process.stdout.write(
      'certfleet: creating the simulated fleet (real P-384 keys, certificates from a local CA via a stand-in DPS)…\n',
    );
    const fleet = await SimulatedFleet.create(fleetOptions, clock);
    process.stdout.write(
      `certfleet: ${fleet.devices.length} devices; running ${fleetOptions.days} days of fleet time through certfleet…\n`,
    );
    const settings = loadSettings({
      FleetStorage: azurite.connectionString,
      ...fleet.environment,
      // The run's checkpoint key, as ephemeral as its Azurite: a deployment's is in Key Vault.
      CERTFLEET_CHECKPOINT_KEY_FILE: join(
        mkdtempSync(join(tmpdir(), 'certfleet-run-')),
        'checkpoint-key.pem',
      ),
    });
    const progress = progressBar(`certfleet: ${fleetOptions.days} days of fleet time`);
    const { summary, services, trail } = await runSimulatedFleet({
      settings,
      clock,
      fleet,
      start: fleetOptions.start,
      days: fleetOptions.days,
      onProgress: progress.update,
    });
    progress.done();
    process.stdout.write(`\n${describeSummary(summary)}\n`);
    if (trail)
      process.stdout.write(
        `\naudit trail, against its signed checkpoints:\n${describeVerification(trail)}`,
      );
    if (args.exit) return;

    let example = 'sim-0001';
    for await (const record of services.ledger.list()) {
      example = record.deviceId;
      break;
    }
    const lastReport = (await services.pointInTime.dates()).at(-1);
    // The API serves the run's own services: its storage, and the fleet as it was left at the
    // end of virtual time (the functions otherwise build theirs from the environment).
    useServices(services);
    host = new LocalHost(httpTriggers, (line) => process.stdout.write(`${line}\n`));
    const url = await host.listen(args.port);
    process.stdout.write(
      `\ncertfleet's HTTP API on ${url} (the Functions routes; keys are not checked locally):\n` +
        host
          .describeRoutes()
          .map((r) => `  ${r}\n`)
          .join('') +
        `for example: curl ${url}/api/devices/${encodeURIComponent(example)}\n` +
        (lastReport
          ? `the fleet at the end of ${lastReport}: curl ${url}/api/reports/archive/${lastReport}/summary\n`
          : '') +
        `the audit trail verified: curl '${url}/api/audit/verify?from=${fleetOptions.start.slice(0, 10)}&to=${lastReport ?? fleetOptions.start.slice(0, 10)}'\n` +
        `the fleet dashboard, in a browser: ${url}/api/dashboard\n` +
        'Ctrl-C to stop.\n',
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.stdout.write('\ncertfleet: stopping…\n');
  } finally {
    await stop();
  }
}

/** A progress bar on a terminal; a line every 10% otherwise (CI logs, pipes). */
function progressBar(label: string) {
  const tty = process.stdout.isTTY === true;
  let lastTenth = -1;
  return {
    update: (fraction: number, at: string) => {
      const share = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 30;
        const filled = Math.round(share * width);
        process.stdout.write(
          `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  ${at.slice(0, 10)}`,
        );
      } else if (Math.floor(share * 10) > lastTenth) {
        lastTenth = Math.floor(share * 10);
        process.stdout.write(`${label}: ${lastTenth * 10}% (${at.slice(0, 10)})\n`);
      }
    },
    done: () => {
      if (tty) process.stdout.write('\n');
    },
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`certfleet: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
