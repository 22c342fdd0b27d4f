import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { DAY_MS, HOUR_MS, ManualClock, isoUtc } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../../shared/config/settings';
import { TrailVerificationReport } from '../../../shared/app/audit/VerifyAuditTrail';
import { Services, useServices } from '../../../shared/services';
import { FleetOptions, defaultFleetOptions } from '../../../shared/simulation/fleet/FleetOptions';
import { CollectedAlertLog } from '../../../shared/simulation/fleet/CollectedAlertLog';
import { runSimulatedFleet } from '../../../shared/simulation/fleet/FleetRun';
import { FleetSummary, describeSummary } from '../../../shared/simulation/fleet/FleetSummary';
import { SimulatedFleet } from '../../../shared/simulation/fleet/SimulatedFleet';
import { testEnvironment } from '../../support/testStorage';

/**
 * A small fleet end to end on Azurite: real devices (keys, CSRs, the stand-in DPS), certfleet's
 * real trigger handler, sweeps, ledger and audit trail, in virtual time.
 */
const START = '2026-11-01T00:00:00.000Z';
const RATE = 1;

/** 28 devices and a cohort of 8 over 20 days, on 7- and 14-day leaves, one renewal a minute. */
function smallFleet(seed: number): FleetOptions {
  return {
    ...defaultFleetOptions(seed),
    start: START,
    days: 20,
    devices: 28,
    cohort: {
      size: 8,
      hourStart: '2026-11-04T09:00:00.000Z',
      tag: 'batch-a',
      policy: 'weekly',
    },
    policies: [
      { name: 'weekly', leafValidityDays: 7, share: 0.5 },
      { name: 'fortnightly', leafValidityDays: 14, share: 0.5 },
    ],
    provisioningDays: 5,
    reportsOnlyDatesShare: 0.2,
    reusesKeyPairShare: 0.1,
    // Some refuse everything: certfleet gives up on them, and they expire.
    refusalProbability: [0.6, 1],
    darkDays: [7, 10],
    dpsOutages: [],
    manualRenewals: [
      { at: '2026-11-12T10:00:00.000Z', devices: 2, who: 'ops@test', why: 'a test' },
    ],
    renewalsPerMinute: RATE,
  };
}

interface Run {
  summary: FleetSummary;
  services: Services;
  fleet: SimulatedFleet;
  audit: AuditEntry[];
  records: DeviceRecord[];
  alertLog: CollectedAlertLog;
  trail: TrailVerificationReport | undefined;
}

async function run(options: FleetOptions): Promise<Run> {
  const clock = new ManualClock(options.start);
  const fleet = await SimulatedFleet.create(options, clock);
  const settings = loadSettings(
    testEnvironment({
      ...fleet.environment,
      CERTFLEET_CHECKPOINT_KEY_FILE: join(mkdtempSync(join(tmpdir(), 'certfleet-sim-')), 'k.pem'),
    }),
  );
  const { summary, services, alertLog, trail } = await runSimulatedFleet({
    settings,
    clock,
    fleet,
    start: options.start,
    days: options.days,
  });
  const audit: AuditEntry[] = [];
  for (let d = Date.parse(options.start); d <= clock.now().getTime(); d += DAY_MS) {
    for await (const entry of services.audit.readDate(isoUtc(d).slice(0, 10))) audit.push(entry);
  }
  const records: DeviceRecord[] = [];
  for await (const record of services.ledger.list()) records.push(record);
  return { summary, services, fleet, audit, records, alertLog, trail };
}

afterAll(() => useServices(undefined));

describe('a simulated fleet run end to end, on Azurite', () => {
  let first: Run;
  let second: Run;

  beforeAll(async () => {
    first = await run(smallFleet(11));
    second = await run(smallFleet(11));
  }, 180_000);

  it('is the same run twice for the same seed', () => {
    expect(second.summary).toEqual(first.summary);
    expect(first.summary.renewals.total).toBeGreaterThan(40);
    expect(describeSummary(first.summary)).toContain(
      'Consistency: ledger, audit trail and devices agree',
    );
  });

  it('leaves an audit trail that verifies against a signed checkpoint after each midnight and one at the end', () => {
    // The run starts at midnight: days - 1 midnights pass inside it, and one more at its end.
    const days = smallFleet(11).days;
    expect(first.summary.run.checkpoints).toBe(days);
    expect(first.trail).toMatchObject({ ok: true, problems: [], pending: { records: 0 } });
    expect(first.trail?.records).toBe(first.audit.length);
    expect(first.trail?.sealed).toBe(first.audit.length);
    expect(first.trail?.checkpoints.valid).toBe(days);
  });

  it('writes the fleet as it stood at the end of each day, each file vouched for by the sealed trail', async () => {
    const days = smallFleet(11).days;
    const dates = await first.services.pointInTime.dates();
    expect(first.summary.run.dailyReports).toBe(days - 1);
    expect(dates).toHaveLength(days - 1);
    expect(first.audit.filter((e) => e.type === 'report.written')).toHaveLength(days - 1);
    const read = await first.services.pointInTime.read(dates[3]!, 'summary');
    if (!read.found) throw new Error(`no summary for ${dates[3]}`);
    const chunks: Buffer[] = [];
    for await (const chunk of read.content) chunks.push(chunk);
    expect(read.check()).toMatchObject({ ok: true });
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({
      date: dates[3],
      at: `${dates[4]}T00:05:00.000Z`,
      devices: expect.any(Number),
    });
  });

  it('has a summary, a ledger and an audit trail that agree with what the devices did', () => {
    expect(first.summary.consistency).toMatchObject({ ok: true, problems: [] });
    expect(first.summary.audit.chainsVerified).toBe(true);
    expect(first.summary.ledger.devices).toBe(36);
    const byPath = first.summary.renewals.byPath;
    for (const path of [
      'device',
      'certfleet-sweep',
      'certfleet-after-connect',
      'manual',
    ] as const) {
      expect(byPath[path]).toBeGreaterThan(0);
    }
  });

  it('explains every expired certificate by a device that could not be saved', () => {
    const expired = first.summary.expired;
    expect(expired.total).toBeGreaterThan(0);
    expect(expired.unexplained).toEqual([]);
    const explained = Object.values(expired.byExplanation).reduce((n, c) => n + (c ?? 0), 0);
    expect(explained).toBe(expired.total);
    expect(Object.keys(expired.byExplanation)).not.toContain('unexplained');
    // certfleet recorded each of them (by the validUntil it was told: off by a device's clock).
    const end = Date.parse(first.summary.end);
    for (const device of first.fleet.devices) {
      const skew = Math.abs(device.profile.clockOffsetMs);
      for (const expiry of device.expiries.filter((x) => x.validUntil + skew + 120_000 < end)) {
        const recorded = first.audit.filter(
          (e) =>
            e.type === 'certificate.expired' &&
            e.deviceId === device.deviceId &&
            Math.abs(Date.parse(e.old!.validUntil) - expiry.validUntil) <= skew,
        );
        expect(recorded).toHaveLength(1);
      }
    }
  });

  it('has, for every renewal that succeeded, the campaign that asked for it in the audit trail', () => {
    const succeeded = first.audit.filter((e) => e.type === 'renewal.succeeded');
    expect(succeeded.length).toBeGreaterThan(20);
    for (const s of succeeded) {
      const campaign = first.audit.filter(
        (e) => e.renewal?.campaignId === s.renewal?.campaignId && e.occurredAt <= s.occurredAt,
      );
      expect(campaign.map((e) => e.type)).toEqual(
        expect.arrayContaining(['renewal.due', 'renewal.requested']),
      );
      // The certificate came from the request the device accepted (unless the device, asked
      // while renewing on its own schedule, got there first).
      const held = first.fleet
        .device(s.deviceId)!
        .certificates.find((c) => c.thumbprintSha256 === s.new?.thumbprintSha256);
      if (held?.initiator.by === 'certfleet') {
        const { requestId } = held.initiator;
        expect(
          campaign.some(
            (e) =>
              e.type === 'renewal.requested' &&
              e.renewal?.requestId === requestId &&
              e.renewal.outcome === 'accepted',
          ),
        ).toBe(true);
      }
    }
    const byCertfleet =
      first.summary.renewals.byPath['certfleet-sweep'] +
      first.summary.renewals.byPath['certfleet-after-connect'] +
      first.summary.renewals.byPath.manual +
      first.summary.renewals.byPath['device-during-campaign'];
    expect(succeeded.length).toBeGreaterThanOrEqual(byCertfleet);
  });

  it('calls no device it knows to be offline, but for one blind try in the last 6 hours of its certificate', () => {
    const blindTry = 6 * HOUR_MS;
    let offline = 0;
    for (const device of first.fleet.devices) {
      // certfleet's view of the expiry is the reported one: off by the device's clock.
      const skew = Math.abs(device.profile.clockOffsetMs);
      const answeredOffline = device.calls.filter((c) => c.answer === 'offline');
      offline += answeredOffline.length;
      // A person who asks is called all the same.
      for (const call of answeredOffline.filter((c) => c.reason !== 'manual')) {
        const held = device.certificates.filter((c) => c.issuedAt <= call.at).at(-1)!;
        expect({
          device: device.deviceId,
          left: held.validUntil - call.at <= blindTry + skew,
        }).toEqual({ device: device.deviceId, left: true });
      }
    }
    const calls = first.summary.requests.total;
    expect(first.summary.run.awaitingConnection).toBeGreaterThan(offline);
    expect(first.summary.requests.byAnswer.offline ?? 0).toBe(offline);
    const asked =
      first.summary.renewals.byPath['certfleet-sweep'] +
      first.summary.renewals.byPath['certfleet-after-connect'] +
      first.summary.renewals.byPath.manual;
    expect(first.summary.requests.perCertfleetRenewal).toBeCloseTo(calls / asked, 10);
    expect(describeSummary(first.summary)).toContain(
      `${(calls / asked).toFixed(2)} calls per certfleet renewal; ${first.summary.run.awaitingConnection} planned devices known to be disconnected not called`,
    );
  });

  it('never asks more devices in a minute than the configured renewal rate', () => {
    const perMinute = new Map<string, number>();
    for (const e of first.audit.filter((e) => e.type === 'renewal.requested')) {
      const minute = e.occurredAt.slice(0, 16);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    expect(perMinute.size).toBeGreaterThan(20);
    expect(Math.max(...perMinute.values())).toBeLessThanOrEqual(RATE);
    const calls = first.fleet.devices.flatMap((d) => d.calls.map((c) => Math.floor(c.at / 60_000)));
    expect(calls.length).toBe([...perMinute.values()].reduce((n, c) => n + c, 0));
    expect(new Set(calls).size).toBe(calls.length);
  });

  it('alerts on the devices that refuse, go dark and expire, and the loopback receiver gets each notification once', async () => {
    const alerts = first.summary.alerts;
    const transitions = first.audit.filter((e) => e.alert !== undefined).map((e) => e.alert!);
    expect(alerts.transitions.raised).toBeGreaterThan(0);
    expect(alerts.transitions.resolved).toBeGreaterThan(0);
    expect(
      alerts.transitions.raised + alerts.transitions.escalated + alerts.transitions.resolved,
    ).toBe(transitions.length);
    // Refusing devices are given up on and expire: those rules must have fired.
    expect(first.summary.failures.refused).toBeGreaterThan(0);
    expect(alerts.byRule['renewal-failed']?.raised).toBeGreaterThan(0);
    expect(first.summary.expired.total).toBeGreaterThan(0);
    const expiries = first.audit.filter((e) => e.type === 'certificate.expired');
    expect(alerts.byRule['certificate-expired']?.raised).toBe(expiries.length);
    // Everything queued was settled by the end, and what was sent is what the receiver kept.
    const webhook = alerts.deliveries.webhook!;
    expect(webhook.pending).toBe(0);
    expect(webhook.delivered + webhook.rolledUp).toBe(transitions.length);
    expect(alerts.receiver).toMatchObject({
      notifications: webhook.delivered,
      duplicates: 0,
      badSignatures: 0,
      malformed: 0,
    });
    expect(first.audit.filter((e) => e.type === 'alert.delivered')).toHaveLength(
      webhook.delivered + webhook.rolledUp,
    );
    // Open at the end: the devices still expired, and what their records hold.
    const stillExpired = first.records.filter((r) => r.renewal?.status === 'expired');
    expect(alerts.open['certificate-expired']?.critical ?? 0).toBe(stillExpired.length);
    const held = first.records.flatMap((r) => (r.alerts ?? []).map((a) => a.id));
    const stored: string[] = [];
    for await (const state of first.services.alertStore.listOpen({ scope: 'device' }))
      stored.push(state.id);
    expect(stored.sort()).toEqual(held.sort());
  });

  it('logs every transition, and nothing else, in the kept alert log, and prints alerts only in the summary', () => {
    const logged = new Set(
      first.alertLog.lines.map((line) => {
        expect(line).toMatch(/^CERTFLEET_ALERT \{/);
        return (JSON.parse(line.slice('CERTFLEET_ALERT '.length)) as { id: string }).id;
      }),
    );
    const audited = new Set(first.audit.flatMap((e) => (e.alert ? [e.alert.id] : [])));
    expect(logged).toEqual(audited);
    expect(first.alertLog.errors).toEqual([]);
    expect(first.summary.alerts.log.alerts).toBe(first.alertLog.lines.length);

    const text = describeSummary(first.summary);
    expect(text).toMatch(
      /^Alerts: \d+ raised, \d+ escalated, \d+ resolved; \d+ fleet alerts raised$/m,
    );
    expect(text).toContain(
      `  deliveries: webhook ${first.summary.alerts.deliveries.webhook!.delivered} delivered`,
    );
    expect(text).toMatch(
      /^ {2}loopback receiver: \d+ notifications \(raised \d+.*\), 0 duplicates dropped, 0 bad signatures, 0 malformed$/m,
    );
    expect(text).not.toContain('CERTFLEET_ALERT {');
  });

  it('leaves the devices certfleet renewed with a new key pair, unless their CSR reused it', () => {
    const renewedByCertfleet = first.audit.filter((e) => e.type === 'renewal.succeeded');
    let checked = 0;
    for (const record of first.records) {
      const current = record.current;
      if (current?.source !== 'pem' || !record.previous?.publicKeySha256) continue;
      const asked = renewedByCertfleet.some(
        (e) =>
          e.deviceId === record.deviceId && e.new?.thumbprintSha256 === current.thumbprintSha256,
      );
      if (!asked) continue;
      const device = first.fleet.device(record.deviceId)!;
      // The ledger's key is the device's key, and certfleet flags a reused one.
      expect(current.publicKeySha256).toBe(device.certificate!.publicKeySha256);
      if (device.profile.reusesKeyPair) {
        expect(current.publicKeySha256).toBe(record.previous.publicKeySha256);
        expect(record.findings.map((f) => f.code)).toContain('key-not-rotated');
      } else {
        expect(current.publicKeySha256).not.toBe(record.previous.publicKeySha256);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(first.fleet.devices.some((d) => d.profile.reusesKeyPair)).toBe(true);
  });
});

describe('an issuer outage during a cohort’s renewals', () => {
  it('opens one failure-spike incident, audited, and the cohort is renewed once DPS is back', async () => {
    // 24 devices provisioned in the same minute: their renewals all fall due together, the
    // outage makes every accepted renewal a no-show at its deadline an hour later.
    const due = Date.parse(START) + 0.85 * 7 * DAY_MS;
    const { cohort: _cohort, ...defaults } = defaultFleetOptions(5);
    const options: FleetOptions = {
      ...defaults,
      start: START,
      days: 8,
      devices: 24,
      mix: {
        'self-renewing': 0,
        passive: 1,
        'part-time': 0,
        refusing: 0,
        flaky: 0,
        'goes-dark': 0,
      },
      policies: [{ name: 'weekly', leafValidityDays: 7, share: 1 }],
      provisioningDays: 1 / (24 * 60),
      reportsOnlyDatesShare: 0,
      clockSkew: { share: 0, maxMs: 0 },
      reusesKeyPairShare: 0,
      dpsOutages: [{ from: isoUtc(due - HOUR_MS), until: isoUtc(due + 2 * HOUR_MS) }],
      manualRenewals: [],
      renewalsPerMinute: 400,
    };
    const { summary, audit } = await run(options);

    expect(summary.incidents.opened).toEqual({ 'failure-spike': 1 });
    expect(audit.filter((e) => e.type === 'incident.opened')).toHaveLength(1);
    expect(summary.failures.noShow).toBeGreaterThanOrEqual(20);
    expect(summary.failures.duringRenewal.unavailable).toBeGreaterThanOrEqual(20);
    expect(summary.expired.total).toBe(0);
    expect(summary.renewals.byPath['certfleet-sweep']).toBe(24);
    expect(summary.consistency.problems).toEqual([]);
  }, 30_000);
});

describe('a cohort that goes dark together through its expiry', () => {
  it('is told as fleet alerts: its devices’ notifications are rolled up, each transition said once', async () => {
    // 24 devices provisioned in the same minute on 7-day leaves, dark from the next hour for a
    // month: certfleet finds them unreachable, and all 24 enter the warning and critical windows
    // and expire in the same minutes, with one cause (issuer and expiry day).
    const provisioned = Date.parse(START) + HOUR_MS;
    const { cohort: _cohort, ...defaults } = defaultFleetOptions(3);
    const options: FleetOptions = {
      ...defaults,
      start: START,
      days: 9,
      devices: 0,
      dpsOutages: [],
      manualRenewals: [],
      renewalsPerMinute: 400,
      policies: [{ name: 'weekly', leafValidityDays: 7, share: 1 }],
      profiles: Array.from({ length: 24 }, (_, i) => ({
        deviceId: `dark-${String(i + 1).padStart(2, '0')}`,
        kind: 'passive' as const,
        provisionAt: isoUtc(provisioned),
        policy: 'weekly',
        selfRenewal: 'never' as const,
        online: { kind: 'always' as const },
        dark: { from: isoUtc(provisioned + HOUR_MS), until: isoUtc(provisioned + 30 * DAY_MS) },
        refusalProbability: 0,
        timeoutProbability: 0,
        failMidRenewalProbability: 0,
        reportsOnlyDates: false,
        clockOffsetMs: 0,
        reusesKeyPair: false,
      })),
    };
    const { summary, audit } = await run(options);

    expect(summary.consistency.problems).toEqual([]);
    expect(summary.expired.total).toBe(24);
    const alerts = summary.alerts;
    expect(alerts.fleetRaised).toBeGreaterThanOrEqual(2); // expiring, then expired
    const fleetRaised = audit.filter(
      (e) => e.type === 'alert.raised' && e.alert?.scope === 'fleet',
    );
    expect(fleetRaised.map((e) => e.alert!.rule)).toEqual(
      expect.arrayContaining(['certificate-expiring', 'certificate-expired']),
    );
    expect(fleetRaised.every((e) => e.alert!.count === 24)).toBe(true);
    // Each device's critical alert was raised before its expiry (the consistency check), and
    // said by the fleet alert: none of the 24 raisings reached the receiver one by one.
    const deviceRaised = audit.filter(
      (e) => e.type === 'alert.raised' && e.alert?.scope === 'device',
    );
    expect(deviceRaised.length).toBeGreaterThanOrEqual(48);
    const rolledUp = new Set(
      audit
        .filter((e) => e.type === 'alert.delivered' && e.delivery?.deliveredAs === 'rolled-up')
        .map((e) => e.delivery!.notificationId),
    );
    for (const e of deviceRaised) expect(rolledUp.has(e.alert!.id)).toBe(true);
    expect(alerts.deliveries.webhook!.rolledUp).toBe(rolledUp.size);
    expect(alerts.receiver.notifications).toBe(alerts.deliveries.webhook!.delivered);
    expect(alerts.receiver.notifications).toBeLessThan(
      alerts.transitions.raised + alerts.transitions.escalated + alerts.transitions.resolved,
    );
  }, 30_000);
});
