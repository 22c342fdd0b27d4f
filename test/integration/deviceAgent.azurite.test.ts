import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceAgent } from '../../shared/agent/DeviceAgent';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { systemClock } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { StandInIotHub } from '../../shared/local/StandInIotHub';
import { StandInDeviceEndpoint } from '../../shared/local/deviceEndpoint/StandInDeviceEndpoint';
import { StandInDpsService } from '../../shared/local/deviceEndpoint/StandInDpsService';
import { deviceEndpointHandler } from '../../shared/local/deviceEndpoint/deviceEndpointHandler';
import { StandInDps } from '../../shared/simulation/fleet/StandInDps';
import { Services, buildServices } from '../../shared/services';
import { selfSignedDevice } from '../local/deviceEndpoint/deviceIdentities';
import { testEnvironment } from '../support/testStorage';

/**
 * certfleet's loop with a real device: the reference agent (shared/agent) on the Azure IoT device
 * SDK, over MQTT on TLS to the stand-in IoT Hub device endpoint, provisioning and renewing over
 * HTTPS with the stand-in DPS (a CSR in, a chain out). certfleet runs as in Azure: its real
 * direct-method adapter calls the stand-in hub's REST API, which reaches the device over MQTT;
 * the device's twin changes and connections come back as the routed events IoT Hub sends to
 * Event Hubs, applied by the ingest use case to a ledger and an audit trail on Azurite.
 * Everything on the wall clock: TLS checks real time.
 */
jest.setTimeout(120_000);

const HUB = 'contoso-hub';
const ID_SCOPE = '0ne00CF1EE7';
const DEVICE = 'agent-thermostat-01';

interface World {
  /** When the world was made: the audit trail's dates run from then to now (a run may cross midnight). */
  started: number;
  services: Services;
  agent: DeviceAgent;
  endpoint: StandInDeviceEndpoint;
  /** Applies every event the hub has routed so far, in order, as the Event Hubs trigger would. */
  ingestRouted(): Promise<void>;
  record(): Promise<DeviceRecord>;
  trail(): Promise<AuditEntry[]>;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The UTC dates from `since` to now. */
function datesSince(since: number): string[] {
  const dates: string[] = [];
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  for (let t = since; day(t) <= day(Date.now()); t += 86_400_000) dates.push(day(t));
  return dates;
}

async function aWorld(): Promise<World> {
  const started = Date.now();
  const routed: RawIotHubMessage[] = [];
  const endpoint = await StandInDeviceEndpoint.start({
    hub: HUB,
    onEvent: (message) => routed.push(message),
  });
  cleanup.push(() => endpoint.close());
  const dps = await StandInDps.create({ clock: systemClock });
  const dpsService = await StandInDpsService.start({
    dps,
    idScope: ID_SCOPE,
    hub: endpoint,
    retryAfterSeconds: 1,
  });
  cleanup.push(() => dpsService.close());
  const serviceHub = new StandInIotHub(deviceEndpointHandler(endpoint));
  const { url } = await serviceHub.start();
  cleanup.push(() => serviceHub.stop());

  const services = buildServices(
    loadSettings(testEnvironment({ CERTFLEET_IOTHUB_ENDPOINT: url })),
    systemClock,
  );

  // The factory credential DPS knows the device by: an individual enrollment of its thumbprint.
  const onboarding = await selfSignedDevice(DEVICE, {
    notBefore: '2025-01-01T00:00:00Z',
    notAfter: '2035-01-01T00:00:00Z',
  });
  dpsService.enroll(DEVICE, { thumbprint: onboarding.thumbprintSha256 });
  endpoint.registerDevice(DEVICE);

  const agentLog: string[] = [];
  const state = mkdtempSync(join(tmpdir(), 'certfleet-agent-'));
  cleanup.push(() => rmSync(state, { recursive: true, force: true }));
  const agent = new DeviceAgent({
    registrationId: DEVICE,
    idScope: ID_SCOPE,
    dpsHost: new URL(dpsService.url).host,
    caPem: `${dpsService.caPem}\n${endpoint.caPem}`,
    stateDirectory: state,
    onboarding: { certificateChainPem: onboarding.certPem, privateKeyPem: onboarding.keyPem },
    log: (entry) => agentLog.push(`${entry.level} ${entry.event}`),
  });
  cleanup.push(() => agent.stop());

  return {
    started,
    services,
    agent,
    endpoint,
    ingestRouted: async () => {
      const batch = routed.splice(0);
      if (batch.length === 0) return;
      const summary = await services.ingest.apply(batch);
      expect(summary.deadLettered).toBe(0);
    },
    record: async () => {
      const stored = await services.ledger.read({ hub: HUB, deviceId: DEVICE });
      if (!stored) throw new Error(`${HUB}/${DEVICE} is not in the ledger`);
      return stored.value;
    },
    trail: async () => {
      const entries: AuditEntry[] = [];
      for (const date of datesSince(started))
        for await (const entry of services.audit.readDate(date)) entries.push(entry);
      return entries.filter((e) => e.deviceId === DEVICE && !e.type.startsWith('alert.'));
    },
  };
}

/** The SHA-256 thumbprint of the agent's certificate, as the ledger writes it (upper-case hex). */
function thumbprintOf(agent: DeviceAgent): string {
  const thumbprint = agent.status().certificate?.thumbprint;
  if (!thumbprint) throw new Error('the agent holds no certificate');
  return thumbprint.toUpperCase();
}

/** Waits until `check` holds, applying routed events meanwhile (the trigger's batches). */
async function eventually(world: World, check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await world.ingestRouted();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a real device agent renews at certfleet’s request, end to end', () => {
  it('renews over MQTT and DPS with a fresh key, and the ledger and audit trail record it verified', async () => {
    const world = await aWorld();

    // First provisioning: DPS issues from a CSR, the agent connects and reports its certificate.
    await world.agent.start();
    await world.agent.whenIdle();
    const first = thumbprintOf(world.agent);
    await eventually(
      world,
      async () => (await world.record()).current?.thumbprintSha256 === first,
      'the first certificate in the ledger',
    );
    expect(world.endpoint.isConnected(DEVICE)).toBe(true);
    const before = await world.record();
    expect(before.findings).toEqual([]);
    expect(before.connection?.state).toBe('connected');

    // An operator asks; certfleet calls the direct method through the real IoT Hub adapter.
    const asked = await world.services.renewals.renewOnRequest(
      { hub: HUB, deviceId: DEVICE },
      { who: 'ops@contoso.example', why: 'end-to-end test' },
    );
    expect(asked).toMatchObject({ status: 'requested', outcome: 'accepted' });

    // The agent re-registers with a fresh key, reconnects with the new certificate, reports it.
    await eventually(
      world,
      async () => (await world.record()).renewal?.status === 'healthy',
      'the renewal verified',
    );
    const renewed = thumbprintOf(world.agent);
    const record = await world.record();
    expect(renewed).not.toBe(first);
    expect(record.current?.thumbprintSha256).toBe(renewed);
    // A fresh key, not the old one certified again; and a new connection with it.
    expect(record.current?.publicKeySha256).not.toBe(before.current?.publicKeySha256);
    expect(record.current?.keyAlgorithm).toBe('ECDSA P-384');
    expect(record.connection?.state).toBe('connected');
    expect(BigInt(`0x${record.connection?.sequenceNumber}`)).toBeGreaterThan(
      BigInt(`0x${before.connection?.sequenceNumber}`),
    );
    expect(record.findings).toEqual([]);
    expect(world.endpoint.isConnected(DEVICE)).toBe(true);

    const trail = await world.trail();
    const types = trail.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'certificate.first-seen',
        'renewal.requested',
        'certificate.renewed',
      ]),
    );
    const requested = trail.find((e) => e.type === 'renewal.requested');
    expect(requested?.renewal).toMatchObject({ outcome: 'accepted', status: 202 });
    const succeeded = trail.find((e) => e.type === 'renewal.succeeded');
    expect(succeeded?.renewal).toMatchObject({ renewedBy: 'certfleet', failures: 0 });
    expect(succeeded?.old?.thumbprintSha256).toBe(first);
    expect(succeeded?.new?.thumbprintSha256).toBe(renewed);
    for (const date of datesSince(world.started)) {
      const verification = await world.services.audit.verifyDate(date);
      expect(verification.blobs.filter((b) => !b.result.ok)).toEqual([]);
    }
  });
});
