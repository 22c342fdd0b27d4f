import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { describeAgentSummary } from '../../shared/local/AgentRunSummary';
import { AGENTS_HUB, AgentRun, runAgents } from '../../shared/local/agentRun';
import { testEnvironment } from '../support/testStorage';

/**
 * The agents phase of `npm start -- --agents N` with two agents: real device agents on the Azure
 * IoT device SDK (MQTT on TLS to the stand-in hub, DPS over HTTPS with a CSR), certfleet's real
 * direct-method adapter, ingest and ledger on Azurite, all on the wall clock.
 */
jest.setTimeout(60_000);

let run: AgentRun;
let keyDirectory: string;

beforeAll(async () => {
  keyDirectory = mkdtempSync(join(tmpdir(), 'certfleet-agents-test-'));
  run = await runAgents({
    agents: 2,
    environment: testEnvironment({
      CERTFLEET_CHECKPOINT_KEY_FILE: join(keyDirectory, 'checkpoint-key.pem'),
    }),
    // DPS answers after 3 s; a second keeps the suite short.
    dpsRetryAfterSeconds: 1,
  });
}, 60_000);

afterAll(async () => {
  await run?.stop();
  rmSync(keyDirectory, { recursive: true, force: true });
});

async function recordOf(deviceId: string): Promise<DeviceRecord> {
  const stored = await run.services.ledger.read({ hub: AGENTS_HUB, deviceId });
  if (!stored) throw new Error(`${deviceId} is not in the ledger`);
  return stored.value;
}

async function auditOf(deviceId: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  const today = new Date().toISOString().slice(0, 10);
  for await (const entry of run.services.audit.readDate(today))
    if (entry.hub === AGENTS_HUB && entry.deviceId === deviceId) entries.push(entry);
  return entries;
}

describe('the agents phase of npm start, with two real agents on Azurite', () => {
  it('provisions both, asks both to renew, and counts both renewals verified', () => {
    const s = run.summary;
    expect(s).toMatchObject({
      hub: AGENTS_HUB,
      agents: 2,
      provisioned: 2,
      asked: 2,
      outcomes: { accepted: 2 },
      verified: 2,
      failed: 0,
      problems: [],
    });
    expect(s.requestToVerifiedMs).toHaveLength(2);
    expect(s.requestToVerifiedMs[0]).toBeLessThanOrEqual(s.requestToVerifiedMs[1]!);
    expect(s.audit.byType).toMatchObject({
      'certificate.first-seen': 2,
      'renewal.requested': 2,
      'renewal.succeeded': 2,
    });
    expect(describeAgentSummary(s)).toContain(
      'renewals asked: 2 (accepted 2); accepted 2, verified 2, failed 0',
    );
  });

  it('leaves each agent’s renewed certificate in the ledger: a fresh key, from its own DPS, connected', async () => {
    for (const deviceId of ['agent-0001', 'agent-0002']) {
      const record = await recordOf(deviceId);
      expect(record.renewal?.status).toBe('healthy');
      expect(record.connection.state).toBe('connected');
      expect(record.findings).toEqual([]);
      expect(record.current?.issuer).toContain('certfleet agents Issuing CA');
      expect(record.previous?.thumbprintSha256).toBeDefined();
      expect(record.current?.thumbprintSha256).not.toBe(record.previous?.thumbprintSha256);
      expect(record.current?.publicKeySha256).not.toBe(record.previous?.publicKeySha256);

      const trail = await auditOf(deviceId);
      const asked = trail.find((e) => e.type === 'renewal.due');
      expect(asked?.renewal).toMatchObject({ trigger: 'manual' });
      expect(asked?.renewal?.requestedBy).toContain('npm start --agents');
      const succeeded = trail.find((e) => e.type === 'renewal.succeeded');
      expect(succeeded?.renewal).toMatchObject({ renewedBy: 'certfleet', failures: 0 });
      expect(succeeded?.new?.thumbprintSha256).toBe(record.current?.thumbprintSha256);
    }
  });

  it('seals the agents’ records in a checkpoint, and today’s trail verifies against it', () => {
    expect(run.trail).toMatchObject({ ok: true, problems: [] });
    expect(run.trail?.sealed).toBeGreaterThanOrEqual(run.summary.audit.records);
  });
});
