/**
 * `npm start`'s command line: what it runs, read from `process.argv` and checked, naming the
 * option and what it takes when a value is wrong.
 */
export interface StartOptions {
  /** Stop after the summary instead of serving the HTTP API. */
  exit: boolean;
  /** Simulated devices outside the cohort (the fleet's default when absent). */
  devices?: number;
  /** Days of virtual time (the fleet's default when absent). */
  days?: number;
  seed: number;
  port: number;
  /** Real device agents after the simulated fleet; 0: none. */
  agents: number;
  help: boolean;
}

/** The most real agents one run starts: each is a device SDK client, key pairs and a TLS session. */
export const MAX_AGENTS = 50;

export const START_USAGE = `usage: npm start -- [options]

  --exit          stop after the summary instead of serving the HTTP API
  --devices N     simulated devices outside the cohort (default 230)
  --days N        days of virtual time (default 90)
  --seed N        the simulated fleet's seed: same seed, same history (default 1)
  --port N        the HTTP API's port (default 7071)
  --agents N      then run N real device agents (1 to ${MAX_AGENTS}) over MQTT/TLS and DPS over
                  HTTPS on the wall clock, each asked to renew once (default 0: none)
  --help          this text
`;

/** A command line `npm start` cannot run; the message names the option. */
export class StartUsageError extends Error {
  readonly code = 'start-usage';
}

export function parseStartOptions(argv: readonly string[]): StartOptions {
  const options: StartOptions = { exit: false, seed: 1, port: 7071, agents: 0, help: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const next = () => {
      const text = argv[i + 1];
      i += 1;
      return text;
    };
    const positive = () => {
      const text = next();
      const v = wholeNumber(text);
      if (v === undefined || v <= 0) {
        throw new StartUsageError(`${arg} takes a positive whole number${got(text)}`);
      }
      return v;
    };
    if (arg === '--exit') options.exit = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--devices') options.devices = positive();
    else if (arg === '--days') options.days = positive();
    else if (arg === '--seed') options.seed = positive();
    else if (arg === '--port') {
      const port = positive();
      if (port > 65535)
        throw new StartUsageError(`--port takes a port from 1 to 65535, got ${port}`);
      options.port = port;
    } else if (arg === '--agents') {
      const text = next();
      const v = wholeNumber(text);
      if (v === undefined || v < 0 || v > MAX_AGENTS) {
        throw new StartUsageError(
          `--agents takes a whole number from 0 to ${MAX_AGENTS} (0: no agents)${got(text)}`,
        );
      }
      options.agents = v;
    } else {
      throw new StartUsageError(
        `unknown option ${arg} (known: --exit, --devices N, --days N, --seed N, --port N, --agents N, --help)`,
      );
    }
  }
  return options;
}

/** A whole number written as one (`3`, not `3.0`, `3e0`, ` 3` or `0x3`); undefined otherwise. */
function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

function got(text: string | undefined): string {
  return text === undefined ? ', got nothing' : `, got ${JSON.stringify(text)}`;
}
