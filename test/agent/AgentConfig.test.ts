import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AgentConfigInvalid, parseAgentConfig } from '../../shared/agent/AgentConfig';
import { DeviceAgent } from '../../shared/agent/DeviceAgent';
import { loadAgent } from '../../shared/agent/main';

const minimal = {
  registrationId: 'thermostat-0001',
  idScope: '0ne00000A1B',
  stateDirectory: 'state',
  onboarding: { certificateFile: 'onboarding.pem', keyFile: 'onboarding.key' },
};

function problemsOf(json: unknown): string[] {
  try {
    parseAgentConfig(json);
  } catch (error) {
    if (error instanceof AgentConfigInvalid) return error.problems;
    throw error;
  }
  return [];
}

describe("the agent's configuration file", () => {
  it('fills in the defaults: global DPS, renewal at 80%, the onboarding certificate, renewCertificate', () => {
    expect(parseAgentConfig(minimal)).toEqual({
      ...minimal,
      dpsHost: 'global.azure-devices-provisioning.net',
      renewAtFraction: 0.8,
      dpsCredential: 'onboarding',
      methodName: 'renewCertificate',
      retry: { initialSeconds: 60, maxSeconds: 3600 },
    });
  });

  it('takes a stand-in DPS on a loopback port, a CA to trust and a hub endpoint', () => {
    const config = parseAgentConfig({
      ...minimal,
      dpsHost: '127.0.0.1:51234',
      trustedCaFile: 'standin-root.pem',
      hubEndpoint: 'localhost:51235',
    });
    expect(config.dpsHost).toBe('127.0.0.1:51234');
    expect(config.trustedCaFile).toBe('standin-root.pem');
    expect(config.hubEndpoint).toBe('localhost:51235');
  });

  it('names every problem, one line each', () => {
    expect(
      problemsOf({
        registrationId: '-bad id-',
        idScope: '0ne00000A1B',
        dpsHost: 'https://dps.example.net/',
        onboarding: { certificateFile: 'onboarding.pem' },
        renewAtFraction: 1.2,
        colour: 'blue',
      }),
    ).toEqual([
      'registrationId: must be a DPS registration id: up to 128 of A-Z a-z 0-9 : . _ -',
      'dpsHost: must be host or host:port, without https://',
      'stateDirectory: Invalid input: expected string, received undefined',
      'onboarding.keyFile: Invalid input: expected string, received undefined',
      'renewAtFraction: Too big: expected number to be <1',
      '(file): Unrecognized key: "colour"',
    ]);
  });

  it('refuses a retry cap below its first wait', () => {
    expect(problemsOf({ ...minimal, retry: { initialSeconds: 600, maxSeconds: 60 } })).toEqual([
      'retry: maxSeconds must be at least initialSeconds',
    ]);
  });
});

describe('loading the agent from its configuration file', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'certfleet-agent-config-'));
  });

  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('says which file it could not read', async () => {
    const configPath = path.join(directory, 'agent.json');
    await writeFile(configPath, JSON.stringify(minimal));
    const error = (await loadAgent(configPath).catch((e: unknown) => e)) as AgentConfigInvalid;
    expect(error).toBeInstanceOf(AgentConfigInvalid);
    expect(error.problems).toEqual([
      'onboarding.certificateFile: ENOENT onboarding.pem',
      'onboarding.keyFile: ENOENT onboarding.key',
    ]);
  });

  it('says when the trusted-CA file holds no certificate', async () => {
    const configPath = path.join(directory, 'agent.json');
    await writeFile(configPath, JSON.stringify({ ...minimal, trustedCaFile: 'ca.pem' }));
    await writeFile(path.join(directory, 'onboarding.pem'), 'certificate');
    await writeFile(path.join(directory, 'onboarding.key'), 'key');
    await writeFile(path.join(directory, 'ca.pem'), 'not a certificate');
    const error = (await loadAgent(configPath).catch((e: unknown) => e)) as AgentConfigInvalid;
    expect(error).toBeInstanceOf(AgentConfigInvalid);
    expect(error.problems).toEqual(['trustedCaFile: no PEM certificate in ca.pem']);
  });

  it('says when the file is not JSON', async () => {
    const configPath = path.join(directory, 'agent.json');
    await writeFile(configPath, '{ registrationId: thermostat }');
    await expect(loadAgent(configPath)).rejects.toThrow(/not JSON/);
  });

  it('builds the agent, reading files relative to the configuration file', async () => {
    const configPath = path.join(directory, 'agent.json');
    await writeFile(configPath, JSON.stringify(minimal));
    await writeFile(path.join(directory, 'onboarding.pem'), 'certificate');
    await writeFile(path.join(directory, 'onboarding.key'), 'key');
    expect(await loadAgent(configPath)).toBeInstanceOf(DeviceAgent);
  });
});
