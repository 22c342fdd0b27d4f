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
import { describeAgentSummary } from './AgentRunSummary';
import { LocalHost } from './LocalHost';
import type { AgentRun } from './agentRun';
import { startAzurite } from './azurite';
import { fleetEndingBefore } from './fleetWindow';
import { START_USAGE, StartOptions, StartUsageError, parseStartOptions } from './startOptions';
import { httpTriggers } from './triggerDefinitions';

/**
 * `npm start`: certfleet end to end on this machine, on embedded defaults. Starts Azurite, runs
 * a simulated fleet (a few hundred devices with real keys, certificates from a local CA through
 * a stand-in DPS) for a few months of virtual time through certfleet's real handlers, sweeps and
 * storage, prints the summary, then serves certfleet's HTTP API on http://localhost:7071 with
 * the Functions' own routes until Ctrl-C.
 *
 * With `--agents N`, N real device agents (the Azure IoT device SDK over MQTT on TLS, DPS over
 * HTTPS) then run on the wall clock over the same storage, each asked to renew once
 * (agentRun.ts); the fleet's virtual days end before the wall clock so the audit trail only goes
 * forward (fleetWindow.ts), and the API served afterwards runs on the wall clock with the agents
 * still connected.
 *
 *   npm start                      the default fleet, then serve
 *   npm start -- --exit            exit after the summary
 *   npm start -- --devices 500 --days 60 --seed 7 --port 7072
 *   npm start -- --agents 5        and 5 real agents after the fleet
 */
async function main(): Promise<void> {
  let args: StartOptions;
  try {
    args = parseStartOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof StartUsageError)) throw error;
    process.stderr.write(`certfleet: ${error.message}\n\n${START_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(START_USAGE);
    return;
  }
  const chosen = {
    ...defaultFleetOptions(args.seed),
    ...(args.devices ? { devices: args.devices } : {}),
    ...(args.days ? { days: args.days } : {}),
  };
  const fleetOptions = args.agents > 0 ? fleetEndingBefore(chosen, new Date()) : chosen;
  process.stdout.write('certfleet: starting Azurite on free loopback ports…\n');
  const azurite = await startAzurite();
  let host: LocalHost | undefined;
  let agents: AgentRun | undefined;
  const stop = async () => {
    await host?.close();
    await agents?.stop();
    await azurite.stop();
  };
  try {
    const clock = new ManualClock(fleetOptions.start);
    process.stdout.write(
      'certfleet: creating the simulated fleet (real P-384 keys, certificates from a local CA via a stand-in DPS)…\n',
    );
    const fleet = await SimulatedFleet.create(fleetOptions, clock);
    if (fleetOptions.start !== chosen.start) {
      process.stdout.write(
        `certfleet: the fleet's days moved to end before the wall clock, where the agents run: from ${fleetOptions.start.slice(0, 10)}\n`,
      );
    }
    process.stdout.write(
      `certfleet: ${fleet.devices.length} devices; running ${fleetOptions.days} days of fleet time through certfleet…\n`,
    );
    // The run's storage and checkpoint key, as ephemeral as its Azurite (a deployment's key is in
    // Key Vault): the simulated fleet's and the agents' alike.
    const storage = {
      FleetStorage: azurite.connectionString,
      CERTFLEET_CHECKPOINT_KEY_FILE: join(
        mkdtempSync(join(tmpdir(), 'certfleet-run-')),
        'checkpoint-key.pem',
      ),
    };
    const settings = loadSettings({ ...storage, ...fleet.environment });
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

    if (args.agents > 0) {
      process.stdout.write('\n');
      // Loaded only here: the agents need the device SDK and the MQTT broker (dev dependencies).
      const { runAgents } = await import('./agentRun');
      agents = await runAgents({
        agents: args.agents,
        environment: storage,
        trustBundlePem: fleet.dps.trustBundlePem,
        otherDevices: fleet,
        verifyFrom: fleetOptions.start.slice(0, 10),
        onProgress: (line) => process.stdout.write(`certfleet: ${line}\n`),
      });
      process.stdout.write(`\n${describeAgentSummary(agents.summary)}\n`);
      if (agents.trail)
        process.stdout.write(
          `\naudit trail with the agents' records, against its signed checkpoints:\n${describeVerification(agents.trail)}`,
        );
      const s = agents.summary;
      if (s.provisioned < s.agents || s.verified < s.agents || agents.trail?.ok === false)
        process.exitCode = 1;
    }
    if (args.exit) return;

    let example = 'sim-0001';
    for await (const record of services.ledger.list()) {
      if (record.hub !== fleet.hub) continue;
      example = record.deviceId;
      break;
    }
    const lastReport = (await services.pointInTime.dates()).at(-1);
    // The API serves the run's own services: its storage, and the fleet as it was left at the
    // end of virtual time (the functions otherwise build theirs from the environment). With
    // agents, the wall-clock services that reach both the agents and the simulated devices.
    useServices(agents?.services ?? services);
    host = new LocalHost(httpTriggers, (line) => process.stdout.write(`${line}\n`));
    const url = await host.listen(args.port);
    const today = new Date().toISOString().slice(0, 10);
    const verifyTo = agents ? today : (lastReport ?? fleetOptions.start.slice(0, 10));
    process.stdout.write(
      `\ncertfleet's HTTP API on ${url} (the Functions routes; keys are not checked locally):\n` +
        host
          .describeRoutes()
          .map((r) => `  ${r}\n`)
          .join('') +
        `for example: curl ${url}/api/devices/${encodeURIComponent(example)}\n` +
        (agents
          ? `a real agent, still connected: curl '${url}/api/devices/agent-0001?hub=${agents.summary.hub}'\n` +
            `  (with agents the API runs on the wall clock; the simulated fleet's time ended before it)\n`
          : '') +
        (lastReport
          ? `the fleet at the end of ${lastReport}: curl ${url}/api/reports/archive/${lastReport}/summary\n`
          : '') +
        `the audit trail verified: curl '${url}/api/audit/verify?from=${fleetOptions.start.slice(0, 10)}&to=${verifyTo}'\n` +
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
