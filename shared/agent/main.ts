// certfleet's reference device agent: `node dist/shared/agent/main.js --config agent.json`.
// Reads and validates the configuration, wires the real clock and timers, logs one line per
// state change (never key material), and runs until SIGINT or SIGTERM.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { systemClock } from '../domain/Clock';
import { AgentConfig, AgentConfigInvalid, parseAgentConfig } from './AgentConfig';
import { AgentLogEntry, formatLogLine } from './AgentLog';
import { DeviceAgent, OnboardingCredentialInvalid } from './DeviceAgent';
import { certificatePemBlocks } from './x509';

const USAGE = 'usage: node dist/shared/agent/main.js --config agent.json';

export async function loadAgent(configPath: string): Promise<DeviceAgent> {
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (error) {
    throw new AgentConfigInvalid([`${configPath}: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigInvalid([`${configPath}: not JSON (${(error as Error).message})`]);
  }
  const config = parseAgentConfig(json);
  const base = path.dirname(path.resolve(configPath));
  const files = await readFiles(config, base);
  return new DeviceAgent({
    registrationId: config.registrationId,
    idScope: config.idScope,
    dpsHost: config.dpsHost,
    stateDirectory: path.resolve(base, config.stateDirectory),
    onboarding: files.onboarding,
    renewAtFraction: config.renewAtFraction,
    dpsCredential: config.dpsCredential,
    methodName: config.methodName,
    retry: {
      initialMs: config.retry.initialSeconds * 1000,
      maxMs: config.retry.maxSeconds * 1000,
    },
    clock: systemClock,
    log: (entry: AgentLogEntry) => {
      const line = formatLogLine(systemClock.now(), entry);
      if (entry.level === 'info') console.log(line);
      else console.error(line);
    },
    ...(files.caPem ? { caPem: files.caPem } : {}),
    ...(config.hubEndpoint ? { hubEndpoint: config.hubEndpoint } : {}),
  });
}

async function readFiles(config: AgentConfig, base: string) {
  const problems: string[] = [];
  const read = async (field: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return await fs.readFile(path.resolve(base, file), 'utf8');
    } catch (error) {
      problems.push(`${field}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'} ${file}`);
      return undefined;
    }
  };
  const [certificatePem, keyPem, caPem] = await Promise.all([
    read('onboarding.certificateFile', config.onboarding.certificateFile),
    read('onboarding.keyFile', config.onboarding.keyFile),
    read('trustedCaFile', config.trustedCaFile),
  ]);
  if (caPem !== undefined && certificatePemBlocks(caPem).length === 0) {
    problems.push(`trustedCaFile: no PEM certificate in ${config.trustedCaFile ?? ''}`);
  }
  if (problems.length > 0) throw new AgentConfigInvalid(problems);
  return {
    onboarding: { certificateChainPem: certificatePem!, privateKeyPem: keyPem! },
    caPem,
  };
}

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf('--config');
  const configPath = at >= 0 ? argv[at + 1] : undefined;
  if (!configPath) {
    console.error(USAGE);
    return 2;
  }
  let agent: DeviceAgent;
  try {
    agent = await loadAgent(configPath);
  } catch (error) {
    if (error instanceof AgentConfigInvalid) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      void agent.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  try {
    await agent.start();
  } catch (error) {
    if (error instanceof OnboardingCredentialInvalid) {
      console.error(`invalid agent configuration: ${error.message}`);
      return 2;
    }
    throw error;
  }
  await stopped;
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`agent failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
