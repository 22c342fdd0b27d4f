import { AlertRelay } from '../../shared/app/alerts/AlertRelay';
import { DEFAULT_DELIVERY_POLICY, DeliverAlerts } from '../../shared/app/alerts/DeliverAlerts';
import { AlertSettings, DEFAULT_ALERT_SETTINGS } from '../../shared/domain/alerts/AlertSettings';
import { AlertTransition } from '../../shared/domain/alerts/AlertState';
import { alertTransitionsIn } from '../../shared/domain/alerts/evaluateAlerts';
import { InMemoryAlertStore } from './InMemoryAlertStore';
import { RecordingAlertSink } from './RecordingAlertSink';
import { RenewDevices } from '../../shared/app/renewal/RenewDevices';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { HOUR_MS, ManualClock } from '../../shared/domain/Clock';
import { DeviceKey } from '../../shared/domain/DeviceKey';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { DEFAULT_RENEWAL_POLICY, renewalDueAt } from '../../shared/domain/RenewalPolicy';
import { DEFAULT_PACING_POLICY } from '../../shared/domain/renewal/Pacing';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from '../../shared/domain/renewal/RenewalTiming';
import {
  InMemoryAuditTrail,
  InMemoryLedger,
  InMemoryPacingStore,
  ScriptedDeviceMethods,
} from './memoryPorts';
import { SimulatedTime } from './simulatedTime';

/**
 * The renewal engine on in-memory ports, for fast use-case tests: the ledger, audit trail and
 * pacing store doubles (held to the adapters' contracts in test/contracts), a scripted fleet
 * answering direct methods, and a ManualClock that the engine's paced waits move
 * (SimulatedTime) instead of waiting.
 *
 * Unless a test says otherwise, a device holds a 30-day certificate from 1 November 2026:
 * under the default policy (85% of the lifetime) renewal falls due on 26 November at 12:00,
 * and the certificate expires on 1 December at 00:00.
 */

/** The engine's own types, taken from its public API so they follow it wherever they live. */
export type RenewalDependencies = ConstructorParameters<typeof RenewDevices>[0];
export type SweepReport = Awaited<ReturnType<RenewDevices['sweep']>>;

export const HUB = 'contoso-hub';
export const FROM = '2026-11-01T00:00:00.000Z';
export const UNTIL = '2026-12-01T00:00:00.000Z';
export const DUE = '2026-11-26T12:00:00.000Z';
/** When the ledger first saw the certificates. */
const SEEN_AT = '2026-11-01T00:05:00.000Z';

export const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
export const minuteOf = (iso: string) => iso.slice(0, 16);
export const startOfMinute = (iso: string) => `${minuteOf(iso)}:00.000Z`;

/**
 * A device as the ledger knows it after its certificate report: active, its certificate valid
 * from `validFrom` to `validUntil`, renewal due by the default policy unless `renewalDueAt`.
 */
export function aDeviceNamed(
  deviceId: string,
  options: { hub?: string; validFrom?: string; validUntil?: string; renewalDueAt?: string } = {},
): DeviceRecord {
  const validity = {
    validFrom: options.validFrom ?? FROM,
    validUntil: options.validUntil ?? UNTIL,
  };
  return {
    ...newDeviceRecord(options.hub ?? HUB, deviceId, SEEN_AT),
    current: { source: 'reported', ...validity, firstSeenAt: SEEN_AT, reportedVersion: 2 },
    reportedVersion: 2,
    renewalDueAt: options.renewalDueAt ?? renewalDueAt(validity, DEFAULT_RENEWAL_POLICY),
    lastSeenAt: SEEN_AT,
  };
}

export interface RenewalWorldOptions {
  now?: string;
  /** No IoT Hub configured: the engine has no DeviceMethods. */
  withoutMethods?: boolean;
  renewalsPerMinute?: number;
  timing?: Partial<RenewalTiming>;
  /** Alerts evaluated with these settings (over the defaults), relayed and delivered. */
  alerts?: Partial<AlertSettings>;
}

export class RenewalWorld {
  readonly clock: ManualClock;
  readonly time: SimulatedTime;
  readonly ledger = new InMemoryLedger();
  readonly audit = new InMemoryAuditTrail();
  readonly pacing = new InMemoryPacingStore();
  readonly methods: ScriptedDeviceMethods;
  readonly renewals: RenewDevices;
  /** With `alerts`: the open alerts and the outbox, a webhook sink, and the delivery. */
  readonly alertStore = new InMemoryAlertStore();
  readonly sink: RecordingAlertSink;
  readonly alertLines: string[] = [];
  readonly alertSettings: AlertSettings;
  readonly alertDelivery: DeliverAlerts;
  readonly alertRelay: AlertRelay;

  constructor(options: RenewalWorldOptions = {}) {
    this.clock = new ManualClock(options.now ?? SEEN_AT);
    this.time = new SimulatedTime(this.clock);
    this.methods = new ScriptedDeviceMethods(this.clock);
    this.sink = new RecordingAlertSink('webhook', this.clock);
    this.alertSettings = { ...DEFAULT_ALERT_SETTINGS, ...options.alerts };
    const log = {
      info: (l: string) => this.alertLines.push(l),
      error: (l: string) => this.alertLines.push(l),
    };
    const relay = (this.alertRelay = new AlertRelay({
      store: this.alertStore,
      audit: this.audit,
      sinks: [this.sink.name],
      log,
      settings: this.alertSettings,
    }));
    this.alertDelivery = new DeliverAlerts({
      store: this.alertStore,
      sinks: [this.sink],
      audit: this.audit,
      relay,
      log,
      clock: this.clock,
      settings: this.alertSettings,
      policy: DEFAULT_DELIVERY_POLICY,
    });
    const dependencies: RenewalDependencies = {
      ledger: this.ledger,
      audit: this.audit,
      pacing: this.pacing,
      ...(options.withoutMethods ? {} : { methods: this.methods }),
      clock: this.clock,
      sleep: this.time.sleep,
      // As the composition root (shared/services.ts) builds them from the default settings.
      settings: {
        methodCallsPerSecond: 10,
        horizonMs: 12 * HOUR_MS,
        maxConcurrentCalls: 32,
        timing: { ...DEFAULT_RENEWAL_TIMING, ...options.timing },
        pacing: {
          ...DEFAULT_PACING_POLICY,
          renewalsPerMinute: options.renewalsPerMinute ?? DEFAULT_PACING_POLICY.renewalsPerMinute,
        },
        ...(options.alerts ? { alerts: this.alertSettings } : {}),
      },
      ...(options.alerts ? { alertRelay: relay } : {}),
    };
    this.renewals = new RenewDevices(dependencies);
  }

  /** Puts devices in the ledger, as the ingest of their reports left them. */
  async given(...records: DeviceRecord[]): Promise<void> {
    for (const record of records) await this.ledger.write(record, undefined);
  }

  /** Moves the clock to `iso`, never back (a paced sweep may have moved it past). */
  moveTo(iso: string): void {
    this.time.moveTo(iso);
  }

  /** Moves the clock to `iso` and runs one sweep, as the timer would. */
  sweepAt(iso: string, options: { dryRun?: boolean } = {}): Promise<SweepReport> {
    this.moveTo(iso);
    return this.renewals.sweep(options);
  }

  /** Moves the clock to `iso`, runs one sweep and then the alert delivery, as the timers would. */
  async sweepAndDeliverAt(iso: string): Promise<SweepReport> {
    const report = await this.sweepAt(iso);
    await this.alertDelivery.deliver();
    return report;
  }

  /** Every alert transition in the audit trail, in order. */
  alertTransitions(): AlertTransition[] {
    return alertTransitionsIn(this.trail());
  }

  record(deviceId: string, hub = HUB): DeviceRecord {
    const record = this.ledger.get(deviceId, hub);
    if (!record) throw new Error(`${hub}/${deviceId} is not in the ledger`);
    return record;
  }

  /** Every audit entry written so far, in order. */
  trail(): AuditEntry[] {
    return this.audit.all();
  }

  /** The types of a device's audit entries, in order. */
  auditTypes(device: DeviceKey | string): string[] {
    const key = typeof device === 'string' ? { hub: HUB, deviceId: device } : device;
    return this.trail()
      .filter((e) => e.hub === key.hub && e.deviceId === key.deviceId)
      .map((e) => e.type);
  }
}
