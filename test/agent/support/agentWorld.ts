import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AgentLogEntry, formatLogLine } from '../../../shared/agent/AgentLog';
import { DeviceAgent, DeviceAgentOptions } from '../../../shared/agent/DeviceAgent';
import { TlsClientCredential } from '../../../shared/agent/DeviceCredential';
import { ManualClock } from '../../../shared/domain/Clock';
import { Issuer } from '../../../shared/local/LocalCa';
import { onboardingCredential, operationalCa } from './agentPki';
import { FakeDps } from './FakeDps';
import { FakeHub } from './FakeHub';
import { ManualScheduler } from './ManualScheduler';

export const REGISTRATION_ID = 'thermostat-0001';
export const START = '2026-11-01T00:00:00.000Z';

let ca: Promise<{ root: Issuer; issuing: Issuer }> | undefined;
let onboarding: Promise<TlsClientCredential & { thumbprint: string }> | undefined;

/**
 * One device and the world around it: a manual clock and timers, a fake DPS issuing from a
 * local CA, a fake hub, a temporary state directory, and every log line and twin patch kept.
 */
export async function agentWorld(options: Partial<DeviceAgentOptions> = {}) {
  ca ??= operationalCa();
  onboarding ??= onboardingCredential(REGISTRATION_ID);
  const { issuing } = await ca;
  const factory = await onboarding;
  const clock = new ManualClock(START);
  const scheduler = new ManualScheduler(clock);
  const timeline: string[] = [];
  const dps = new FakeDps(clock, issuing, timeline);
  const hub = new FakeHub(timeline);
  const stateDirectory = await mkdtemp(path.join(tmpdir(), 'certfleet-agent-'));
  const logs: AgentLogEntry[] = [];
  let random = 0.5;
  const agent = new DeviceAgent({
    registrationId: REGISTRATION_ID,
    idScope: '0ne00000A1B',
    dpsHost: 'dps.example.net',
    stateDirectory,
    onboarding: {
      certificateChainPem: factory.certificateChainPem,
      privateKeyPem: factory.privateKeyPem,
    },
    clock,
    timers: scheduler,
    random: () => random,
    log: (entry) => logs.push(entry),
    dps,
    hub,
    ...options,
  });
  const settle = () => agent.whenIdle();
  return {
    agent,
    clock,
    scheduler,
    dps,
    hub,
    timeline,
    logs,
    stateDirectory,
    onboarding: factory,
    issuing,
    setRandom: (value: number) => {
      random = value;
    },
    /** Moves time to `until`, letting the agent finish what each timer starts. */
    advanceTo: (until: Date | string) => scheduler.advanceTo(until, settle),
    advanceBy: (ms: number) => scheduler.advanceBy(ms, settle),
    logLines: () => logs.map((entry) => formatLogLine(clock.now(), entry)),
    events: () => logs.map((entry) => entry.event),
    cleanUp: async () => {
      await agent.stop();
      await rm(stateDirectory, { recursive: true, force: true });
    },
  };
}

export type AgentWorld = Awaited<ReturnType<typeof agentWorld>>;
