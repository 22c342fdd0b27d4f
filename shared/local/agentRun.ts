import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceAgent } from '../agent/DeviceAgent';
import type { AgentLogEntry } from '../agent/AgentLog';
import type { TrailVerificationReport } from '../app/audit/VerifyAuditTrail';
import { mapWithConcurrency } from '../app/concurrency';
import type { DeviceMethods } from '../app/ports';
import { loadSettings } from '../config/settings';
import { DAY_MS, isoUtc, systemClock } from '../domain/Clock';
import type { DeviceRecord } from '../domain/DeviceRecord';
import { Services, buildServices } from '../services';
import { CollectedAlertLog } from '../simulation/fleet/CollectedAlertLog';
import { StandInDps } from '../simulation/fleet/StandInDps';
import { AgentRunSummary } from './AgentRunSummary';
import { Issuer, createRootCa, generateKeys, issueLeaf, toPem } from './LocalCa';
import { RoutedEventPump } from './RoutedEventPump';
import type { StandInHandler } from './StandInDirectMethods';
import { StandInIotHub } from './StandInIotHub';
import { StandInDeviceEndpoint } from './deviceEndpoint/StandInDeviceEndpoint';
import { StandInDpsService } from './deviceEndpoint/StandInDpsService';
import { deviceEndpointHandler } from './deviceEndpoint/deviceEndpointHandler';
import { deviceMethodsHandler } from './deviceMethodsHandler';
import { MAX_AGENTS } from './startOptions';

/** The agents' hub: one of their own, so the simulated fleet's hub holds only its devices. */
export const AGENTS_HUB = 'agents-hub';
/** The stand-in DPS's ID scope (any `0ne…` string of letters and digits does). */
const ID_SCOPE = '0ne0000A6E7';
/** Azure Device Registry's shortest leaf (AZURE-FACTS.md): 7 days. */
const LEAF_VALIDITY_DAYS = 7;
/** Who asks for the renewals, as the audit trail records it. */
const REQUESTED_BY = {
  who: 'npm start --agents (local run)',
  why: 'the local run asks each real agent to renew once',
};

export interface AgentRunOptions {
  /** How many agents, 1 to MAX_AGENTS. */
  agents: number;
  /**
   * certfleet's settings for the run's storage (FleetStorage, CERTFLEET_STORAGE_PREFIX,
   * CERTFLEET_CHECKPOINT_KEY_FILE): the agents share the simulated fleet's storage and checkpoint
   * key. The phase adds its trust bundle and the stand-in hub's endpoint.
   */
  environment: Record<string, string>;
  /** Roots certfleet already trusts (the simulated fleet's DPS root), kept in its trust bundle. */
  trustBundlePem?: string;
  /**
   * Devices of other hubs that the stand-in hub's REST endpoint reaches in process (the
   * simulated fleet); without them, a call for a device of another hub is IoT Hub's 404001.
   */
  otherDevices?: DeviceMethods;
  /** The first UTC date the closing verification covers (the simulated fleet's start); default today. */
  verifyFrom?: string;
  /** Agents provisioned at a time (each makes keys, registers with DPS and connects). Default 8. */
  concurrency?: number;
  /** How long each wait may take: the agents in the ledger, then renewed. Default 60 s + 1 s an agent. */
  waitMs?: number;
  /** DPS's `Retry-After` while it assigns, in seconds. DPS sends 3, the default. */
  dpsRetryAfterSeconds?: number;
  /** A line for each step, for the terminal. */
  onProgress?: (line: string) => void;
}

export interface AgentRun {
  summary: AgentRunSummary;
  /**
   * certfleet's services over the run's storage on the wall clock, reaching both the agents
   * (over MQTT) and the other devices through the stand-in hub: what the local host serves.
   */
  services: Services;
  /** The audit trail from `verifyFrom` to today, after a checkpoint taken once every agent was done. */
  trail?: TrailVerificationReport;
  /** Stops the agents, the stand-ins and the routed events; safe to call more than once. */
  stop(): Promise<void>;
}

/** One agent and what happened to it. */
interface Slot {
  deviceId: string;
  agent: DeviceAgent;
  /** The last warning or error the agent logged (its events, never key material). */
  lastTrouble?: string;
  /** Its first certificate's SHA-256 thumbprint, upper-case hex as the ledger writes it. */
  first?: string;
  inLedger: boolean;
  askedAt?: number;
  outcome?: string;
  verifiedAt?: number;
  problem?: string;
}

/**
 * The agents phase of `npm start -- --agents N`: real device agents (shared/agent, the Azure IoT
 * device SDK over MQTT on TLS) next to the simulated fleet, on the wall clock, since TLS and the
 * certificates they hold are judged by real time.
 *
 * It starts a stand-in DPS over HTTPS (a 7-day leaf policy under a root of its own), a stand-in
 * IoT Hub device endpoint (MQTT on TLS) for the agents' hub, and the stand-in hub's REST endpoint
 * through which certfleet's real direct-method adapter reaches the agents over MQTT and every
 * other device in process (`otherDevices`). certfleet's services are built on the wall clock over
 * the same storage; the events the hub routes are applied in the trigger's batches as they come.
 *
 * Each agent gets a factory (onboarding) certificate under a factory CA enrolled with DPS, and a
 * state directory of its own; it registers with a CSR, connects and reports its certificate. Once
 * the ledger has every agent's certificate, certfleet asks each to renew as an operator does
 * (`renewOnRequest`, the path behind `POST /api/devices/{id}/renew`): the renewal sweep is
 * fleet-wide, and on the wall clock it would also act on the simulated devices, whose virtual
 * time has stopped. Each agent re-registers with a fresh key and reconnects; the phase waits
 * until the ledger counts each renewal verified, takes a checkpoint of the audit trail and
 * verifies it. The agents stay connected until `stop`.
 */
export async function runAgents(options: AgentRunOptions): Promise<AgentRun> {
  const count = options.agents;
  if (!Number.isInteger(count) || count < 1 || count > MAX_AGENTS) {
    throw new RangeError(`agents: a whole number from 1 to ${MAX_AGENTS}`);
  }
  const waitMs = options.waitMs ?? 60_000 + 1_000 * count;
  const progress = options.onProgress ?? (() => undefined);
  const startedAt = Date.now();
  const cleanup: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const step of cleanup.splice(0).reverse()) {
        try {
          await step();
        } catch {
          // Stopping goes on: each resource is closed whatever the one before did.
        }
      }
    })();
    return stopping;
  };

  try {
    // Events are collected from the first connection; they are applied once the services exist.
    let ingest: Services['ingest']['apply'] = () =>
      Promise.reject(new Error('certfleet is not running yet'));
    const events = new RoutedEventPump((batch) => ingest(batch));
    const endpoint = await StandInDeviceEndpoint.start({
      hub: AGENTS_HUB,
      onEvent: events.push,
    });
    cleanup.push(() => endpoint.close());
    const dps = await StandInDps.create({
      clock: systemClock,
      policies: [{ name: 'agents', leafValidityDays: LEAF_VALIDITY_DAYS }],
      caName: 'certfleet agents',
    });
    const dpsService = await StandInDpsService.start({
      dps,
      idScope: ID_SCOPE,
      hub: endpoint,
      retryAfterSeconds: options.dpsRetryAfterSeconds ?? 3,
    });
    cleanup.push(() => dpsService.close());

    const slots: Slot[] = [];
    // The handler is wired once the settings name the method certfleet calls.
    let route: StandInHandler = () => 'not-found';
    const hub = new StandInIotHub((...call) => route(...call));
    const { url } = await hub.start();
    cleanup.push(() => hub.stop());

    const settings = loadSettings({
      ...options.environment,
      CERTFLEET_TRUST_BUNDLE: [options.trustBundlePem, dps.trustBundlePem]
        .filter((pem) => pem !== undefined && pem !== '')
        .join('\n'),
      CERTFLEET_IOTHUB_ENDPOINT: url,
    });
    const other = options.otherDevices;
    route = deviceEndpointHandler(
      endpoint,
      other ? deviceMethodsHandler(other, settings.iotHub?.methodName) : undefined,
    );
    const services = buildServices(settings, {
      clock: systemClock,
      alertLog: new CollectedAlertLog(),
    });
    ingest = (batch) => services.ingest.apply(batch);
    events.start();
    cleanup.push(() => events.stop());

    const stateRoot = mkdtempSync(join(tmpdir(), 'certfleet-agents-'));
    cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));
    const factory = await factoryCa();
    const caPem = `${dpsService.caPem}\n${endpoint.caPem}`;
    const width = Math.max(4, String(count).length);

    progress(`starting ${count} real agents on ${AGENTS_HUB} (MQTT/TLS, DPS over HTTPS)…`);
    await mapWithConcurrency(
      Array.from({ length: count }, (_, i) => `agent-${String(i + 1).padStart(width, '0')}`),
      options.concurrency ?? 8,
      async (deviceId) => {
        const onboarding = await onboardingCredential(factory, deviceId);
        dpsService.enroll(deviceId, { caPem: toPem(factory.certificate) });
        endpoint.registerDevice(deviceId);
        const stateDirectory = join(stateRoot, deviceId);
        mkdirSync(stateDirectory);
        const slot: Slot = {
          deviceId,
          inLedger: false,
          agent: new DeviceAgent({
            registrationId: deviceId,
            idScope: ID_SCOPE,
            dpsHost: new URL(dpsService.url).host,
            caPem,
            stateDirectory,
            onboarding,
            log: (entry) => {
              if (entry.level !== 'info') slot.lastTrouble = describeTrouble(entry);
            },
          }),
        };
        slots.push(slot);
        cleanup.push(() => slot.agent.stop());
        await slot.agent.start();
        const thumbprint = slot.agent.status().certificate?.thumbprint;
        if (thumbprint) slot.first = thumbprint.toUpperCase();
        else slot.problem = `not provisioned: ${slot.agent.status().lastError ?? slot.lastTrouble}`;
      },
    );
    slots.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));

    const record = async (slot: Slot): Promise<DeviceRecord | undefined> =>
      (await services.ledger.read({ hub: AGENTS_HUB, deviceId: slot.deviceId }))?.value;
    const provisioned = slots.filter((s) => s.first !== undefined);
    await waitFor(events, waitMs, provisioned, async (slot) => {
      const current = (await record(slot))?.current;
      slot.inLedger = current?.thumbprintSha256 === slot.first;
      return slot.inLedger;
    });
    const inLedger = provisioned.filter((s) => s.inLedger);
    for (const slot of provisioned)
      if (!slot.inLedger) slot.problem = 'its certificate did not reach the ledger in time';

    progress(`${inLedger.length} agents provisioned; asking each to renew…`);
    await mapWithConcurrency(inLedger, 4, async (slot) => {
      slot.askedAt = Date.now();
      const asked = await services.renewals.renewOnRequest(
        { hub: AGENTS_HUB, deviceId: slot.deviceId },
        REQUESTED_BY,
      );
      slot.outcome =
        asked.status === 'requested' ? (asked.outcome ?? 'expired') : (asked.status as string);
      if (slot.outcome !== 'accepted') slot.problem = `the request came to ${slot.outcome}`;
    });
    const accepted = inLedger.filter((s) => s.outcome === 'accepted');
    await waitFor(events, waitMs, accepted, async (slot) => {
      const now = await record(slot);
      const renewed =
        now?.renewal?.status === 'healthy' &&
        now.current !== undefined &&
        now.current.thumbprintSha256 !== slot.first;
      if (renewed) slot.verifiedAt = Date.now();
      return renewed;
    });
    for (const slot of accepted) {
      if (slot.verifiedAt === undefined) {
        slot.problem = `renewal not verified in time${slot.lastTrouble ? ` (${slot.lastTrouble})` : ''}`;
      }
    }
    const durationMs = Date.now() - startedAt;

    // Everything routed so far is in; then the trail is sealed and verified with the agents' part.
    await events.flush();
    const audit = await agentAudit(services, startedAt);
    await services.checkpoints?.run('manual');
    const today = isoUtc(Date.now()).slice(0, 10);
    const from = options.verifyFrom && options.verifyFrom < today ? options.verifyFrom : today;
    const trail = await services.verifyTrail?.run({ from, to: today });

    const asked = slots.filter((s) => s.askedAt !== undefined);
    const verified = asked.filter((s) => s.verifiedAt !== undefined);
    const outcomes: Partial<Record<string, number>> = {};
    for (const s of asked) outcomes[s.outcome!] = (outcomes[s.outcome!] ?? 0) + 1;
    const summary: AgentRunSummary = {
      hub: AGENTS_HUB,
      agents: count,
      provisioned: inLedger.length,
      asked: asked.length,
      outcomes,
      verified: verified.length,
      failed: asked.length - verified.length,
      requestToVerifiedMs: verified
        .map((s) => (s.verifiedAt as number) - (s.askedAt as number))
        .sort((a, b) => a - b),
      audit,
      durationMs,
      problems: slots.flatMap((s) => (s.problem ? [`${s.deviceId}: ${s.problem}`] : [])),
    };
    return { summary, services, ...(trail ? { trail } : {}), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Waits until `done` holds for every slot, applying routed events meanwhile; gives up after
 * `waitMs`. A slot that is done is not looked at again.
 */
async function waitFor(
  events: RoutedEventPump,
  waitMs: number,
  slots: readonly Slot[],
  done: (slot: Slot) => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  let open = [...slots];
  for (;;) {
    await events.flush();
    const finished = await mapWithConcurrency(open, 8, done);
    open = open.filter((_, i) => !finished[i]);
    if (open.length === 0 || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The audit records of the agents' hub, from the phase's first UTC date to now. */
async function agentAudit(services: Services, since: number): Promise<AgentRunSummary['audit']> {
  const byType: Partial<Record<string, number>> = {};
  let records = 0;
  for (let day = Math.floor(since / DAY_MS) * DAY_MS; day <= Date.now(); day += DAY_MS) {
    for await (const entry of services.audit.readDate(isoUtc(day).slice(0, 10))) {
      if (entry.hub !== AGENTS_HUB) continue;
      records += 1;
      byType[entry.type] = (byType[entry.type] ?? 0) + 1;
    }
  }
  return { records, byType };
}

/** The factory's CA: what DPS's enrollment trusts for the agents' onboarding certificates. */
async function factoryCa(): Promise<Issuer> {
  const now = Date.now();
  return createRootCa('certfleet agents factory CA', {
    notBefore: isoUtc(now - DAY_MS),
    notAfter: isoUtc(now + 10 * 365 * DAY_MS),
  });
}

/** A device's onboarding credential: a long-lived certificate (CN = registration id) and its key. */
async function onboardingCredential(factory: Issuer, deviceId: string) {
  const keys = await generateKeys('P-256');
  const now = Date.now();
  const leaf = await issueLeaf(factory, {
    commonName: deviceId,
    publicKey: keys.publicKey,
    notBefore: isoUtc(now - DAY_MS),
    notAfter: isoUtc(now + 10 * 365 * DAY_MS),
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { certificateChainPem: toPem(leaf), privateKeyPem };
}

/** An agent's warning as one short line: its event and error, never anything else it logged. */
function describeTrouble(entry: AgentLogEntry): string {
  const error = entry.fields['error'];
  return typeof error === 'string' ? `${entry.event}: ${error}` : entry.event;
}
