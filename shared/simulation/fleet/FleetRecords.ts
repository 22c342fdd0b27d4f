import { AlertDelivery, AuditDateVerification } from '../../app/ports';
import { AlertState, AlertTransition } from '../../domain/alerts/AlertState';
import { alertTransitionsIn } from '../../domain/alerts/evaluateAlerts';
import { AuditEntry, AuditEventType } from '../../domain/AuditEntry';
import { DAY_MS, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { ReceivedAlerts } from '../../local/LoopbackAlertReceiver';
import { Services } from '../../services';
import { CallRecord, HeldCertificate, SimulatedDevice } from './SimulatedDevice';
import { SimulatedFleet } from './SimulatedFleet';

/** One direct-method call certfleet made, with the device that answered it. */
export interface DeviceCall {
  device: SimulatedDevice;
  call: CallRecord;
}

/** What the run's alerting left behind, beside the audit trail's alert records. */
export interface AlertRecords {
  /** The alert transitions in the audit trail, in its order (device and fleet alerts). */
  readonly transitions: readonly AlertTransition[];
  /** The open-alert store at the end. */
  readonly open: readonly AlertState[];
  /** The notification outbox at the end: every delivery, each sink's. */
  readonly deliveries: readonly AlertDelivery[];
  /** What the loopback webhook receiver accepted and turned away. */
  readonly received: ReceivedAlerts;
  /** Lines the run's alert log got: one per transition, one per failed delivery. */
  readonly log: { alerts: number; deliveryFailures: number };
}

/**
 * What a run's summary is built from, read once: certfleet's audit trail for the run's dates
 * (with each blob's hash-chain verification) and its ledger for the fleet's hub, indexed by
 * device and by renewal campaign; the open-alert store and the notification outbox, with what
 * the loopback receiver got; and the fleet, which keeps what the devices really did.
 * Reading is the summary's only I/O: its counts (countFleet) and its consistency checks
 * (checkFleetConsistency) are pure functions of these records.
 */
export class FleetRecords {
  /** Audit records by type. */
  readonly byType: Partial<Record<AuditEventType, number>> = {};
  /** Every direct-method call, device by device, as the devices met them. */
  readonly calls: readonly DeviceCall[];
  /** The devices' own count of calls in each minute (minutes since the epoch), first call first. */
  readonly callsPerMinute: ReadonlyMap<number, number>;
  readonly alerts: AlertRecords;
  private readonly ofDevice = new Map<string, AuditEntry[]>();
  private readonly ofCampaign = new Map<string, AuditEntry[]>();
  private readonly recordOf: Map<string, DeviceRecord>;

  private constructor(
    readonly fleet: SimulatedFleet,
    /** The audit trail, date by date, each date in order. */
    readonly audit: readonly AuditEntry[],
    /** Each audit blob's hash-chain verification, date by date. */
    readonly chains: readonly AuditDateVerification['blobs'][number][],
    /** The ledger's records of the fleet's hub. */
    readonly ledger: readonly DeviceRecord[],
    /** The alert store, the outbox and the receiver (the transitions are the audit's). */
    alerts: Omit<AlertRecords, 'transitions'>,
  ) {
    this.alerts = { ...alerts, transitions: alertTransitionsIn(audit) };
    for (const entry of audit) {
      this.byType[entry.type] = (this.byType[entry.type] ?? 0) + 1;
      push(this.ofDevice, entry.deviceId.toLowerCase(), entry);
      const campaign = entry.renewal?.campaignId;
      if (campaign) push(this.ofCampaign, campaign, entry);
    }
    this.recordOf = new Map(ledger.map((r) => [r.deviceId.toLowerCase(), r]));
    this.calls = fleet.devices.flatMap((d) => d.calls.map((c) => ({ device: d, call: c })));
    const perMinute = new Map<number, number>();
    for (const { call } of this.calls) {
      const minute = Math.floor(call.at / MINUTE_MS);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    this.callsPerMinute = perMinute;
  }

  /**
   * Reads the audit trail of every UTC date from `start` to `until` (the run's last instant,
   * after its final alert delivery), the hub's ledger, the alert store and its outbox.
   */
  static async read(input: {
    services: Services;
    fleet: SimulatedFleet;
    start: number;
    until: number;
    received: ReceivedAlerts;
    alertLog: AlertRecords['log'];
  }): Promise<FleetRecords> {
    const { services, fleet, start, until } = input;
    const audit: AuditEntry[] = [];
    const chains: AuditDateVerification['blobs'] = [];
    for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= until; day += DAY_MS) {
      const date = isoUtc(day).slice(0, 10);
      for await (const entry of services.audit.readDate(date)) audit.push(entry);
      chains.push(...(await services.audit.verifyDate(date)).blobs);
    }
    const ledger: DeviceRecord[] = [];
    for await (const record of services.ledger.list({ hub: fleet.hub })) ledger.push(record);
    const open: AlertState[] = [];
    for await (const state of services.alertStore.listOpen()) open.push(state);
    const deliveries: AlertDelivery[] = [];
    for await (const delivery of services.alertStore.listDeliveries()) deliveries.push(delivery);
    return new FleetRecords(fleet, audit, chains, ledger, {
      open,
      deliveries,
      received: input.received,
      log: input.alertLog,
    });
  }

  /** A device's audit records (device ids compared without case, as IoT Hub compares them). */
  entriesOf(deviceId: string): readonly AuditEntry[] {
    return this.ofDevice.get(deviceId.toLowerCase()) ?? [];
  }

  /** The audit records of one renewal campaign. */
  campaign(campaignId: string | undefined): readonly AuditEntry[] {
    return this.ofCampaign.get(campaignId ?? '') ?? [];
  }

  /** The ledger's record of a device. */
  record(deviceId: string): DeviceRecord | undefined {
    return this.recordOf.get(deviceId.toLowerCase());
  }

  /** The device's certificate that an audit record names by its reported `$version`. */
  reportedCertificate(entry: AuditEntry): HeldCertificate | undefined {
    return this.fleet
      .device(entry.deviceId)
      ?.certificates.find((c) => c.reportedVersion === entry.reportedVersion);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
