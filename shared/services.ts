import { IngestIotHubEvents } from './app/ingest/IngestIotHubEvents';
import { ReconcileTwins } from './app/reconcile/ReconcileTwins';
import { RenewDevices } from './app/renewal/RenewDevices';
import {
  AlertLog,
  AlertSink,
  AlertStore,
  AuditTrail,
  CertificateLedger,
  DeadLetters,
  DeviceMethods,
  TwinSource,
} from './app/ports';
import { IotHubAccess } from './adapters/iothub/IotHubAccess';
import { TableAlertStore } from './adapters/storage/TableAlertStore';
import { AlertRelay } from './app/alerts/AlertRelay';
import { DEFAULT_DELIVERY_POLICY, DeliverAlerts } from './app/alerts/DeliverAlerts';
import { ReviewFleet } from './app/alerts/ReviewFleet';
import { RunFleetAudit } from './app/audit/RunFleetAudit';
import { FleetReports } from './app/reports/FleetReports';
import { PointInTimeReports } from './app/reports/PointInTimeReports';
import { BlobReportArchive } from './adapters/storage/BlobReportArchive';
import { DashboardData } from './app/dashboard/DashboardData';
import { TakeCheckpoint } from './app/audit/TakeCheckpoint';
import { VerifyAuditTrail } from './app/audit/VerifyAuditTrail';
import { BlobCheckpointStore } from './adapters/storage/BlobCheckpointStore';
import { checkpointKey } from './checkpointKey';
import { alertSinks } from './alertServices';
import { IotHubDeviceMethods } from './adapters/iothub/IotHubDeviceMethods';
import { IotHubTwinQuery } from './adapters/iothub/IotHubTwinQuery';
import { TablePacingStore } from './adapters/storage/TablePacingStore';
import { TableRotationStore } from './adapters/storage/TableRotationStore';
import { PlanRotation } from './app/rotation/PlanRotation';
import { IotHubSettings } from './config/iotHubSettings';
import { DEFAULT_PACING_POLICY } from './domain/renewal/Pacing';
import { BlobAuditTrail } from './adapters/storage/BlobAuditTrail';
import { BlobDeadLetters } from './adapters/storage/BlobDeadLetters';
import { StorageClients } from './adapters/storage/StorageClients';
import { TableAuditReceipts } from './adapters/storage/TableAuditReceipts';
import { ReceiptedLedger } from './app/ReceiptedLedger';
import { LegacyLedgerTables } from './adapters/storage/LegacyLedgerTables';
import { LedgerMigration, TableCertificateLedger } from './adapters/storage/TableCertificateLedger';
import { X509CertificateInspector } from './adapters/x509/X509CertificateInspector';
import { CheckHealth } from './app/health/CheckHealth';
import { FleetStorageProbe } from './adapters/storage/FleetStorageProbe';
import { EventHubPartitionEnds } from './adapters/eventhub/EventHubPartitionEnds';
import { FunctionsTriggerCheckpoints } from './adapters/eventhub/FunctionsTriggerCheckpoints';
import { IotHubServiceStatistics } from './adapters/iothub/IotHubServiceStatistics';
import { Settings, SettingsError, loadSettings } from './config/settings';
import { Clock, systemClock } from './domain/Clock';
import { normalizeHubName } from './domain/DeviceKey';

/**
 * The composition root: builds every adapter and use case once, from validated settings. The
 * Functions, the CLI and the local host all get their services here, so they share one code path.
 */
export interface Services {
  settings: Settings;
  storageDescription: string;
  ledger: CertificateLedger;
  audit: AuditTrail;
  deadLetters: DeadLetters;
  ingest: IngestIotHubEvents;
  renewals: RenewDevices;
  /** Backfill and reconcile from IoT Hub's twin query; undefined when no IoT Hub is configured. */
  reconcile?: ReconcileTwins;
  /** Open alerts and the notification outbox. */
  alertStore: AlertStore;
  /** The configured alert sinks (none: alerts are logged, audited and listed only). */
  alertSinks: readonly AlertSink[];
  /** Works through the notification outbox (every minute). */
  alerts: DeliverAlerts;
  /** Fleet-risk rules and the digest (daily). */
  fleetReview: ReviewFleet;
  /** Planned CA rotations: declared, worked through the ledger every 5 minutes, their status. */
  rotations: PlanRotation;
  /** The fleet audit checks (on demand). */
  fleetAudit: RunFleetAudit;
  /** The fleet reports: summary, device list, one device's history, the audit trail by time. */
  reports: FleetReports;
  /** The dashboard's data: the summary, the devices needing attention, the open alerts. */
  dashboard: DashboardData;
  /** The daily point-in-time reports in Blob Storage (`reports/YYYY-MM-DD/`). */
  pointInTime: PointInTimeReports;
  /** Takes the audit trail's signed checkpoints; undefined when no checkpoint key is configured. */
  checkpoints?: TakeCheckpoint;
  /** Verifies the audit trail against its checkpoints; undefined when no key is configured. */
  verifyTrail?: VerifyAuditTrail;
  /** Moves records of the ledger's earlier layout into the current one (`certfleet ledger migrate`). */
  migrateLedger: (progress?: (counts: LedgerMigration) => void) => Promise<LedgerMigration>;
  /** Whether storage, the event stream and each hub answer (`GET /api/health`). */
  health: CheckHealth;
}

export interface ServiceOverrides {
  clock?: Clock;
  /** How the renewal sweep waits between paced calls; a simulation moves its clock instead. */
  sleep?: (ms: number) => Promise<void>;
  /** Direct methods through something else than the configured IoT Hub (a simulated fleet). */
  methods?: DeviceMethods;
  /** Device twins from something else than the configured IoT Hub (a simulated fleet). */
  twins?: TwinSource;
  /** IoT Hub settings, when not read from the same environment as `settings`. */
  iotHub?: IotHubSettings;
  /**
   * The clock IoT Hub tokens are signed and cached by (default: `clock`). A real hub judges a
   * token's expiry by real time, so a run on virtual time that calls a real hub (`certfleet
   * sweep --now`) passes the system clock here.
   */
  tokenClock?: Clock;
  /** Alert sinks instead of the configured ones (the local run's loopback receiver). */
  alertSinks?: readonly AlertSink[];
  /** Where alert lines go (default: nowhere; the Function app's services log to the host). */
  alertLog?: AlertLog;
  /** Where checkpoint and tampering lines go (default: nowhere; the Function app's: the host). */
  auditLog?: AlertLog;
}

export function buildServices(
  settings: Settings,
  overrides: ServiceOverrides | Clock = {},
): Services {
  const o: ServiceOverrides = 'now' in overrides ? { clock: overrides } : overrides;
  const clock = o.clock ?? systemClock;
  const prefix = settings.storagePrefix;
  const { clients, ledger, tables } = storage(settings, clock);
  const audit = new BlobAuditTrail(
    clients.container(`${prefix}-audit`),
    settings.auditShards,
    clock,
  );
  const deadLetters = new BlobDeadLetters(clients.container(`${prefix}-deadletters`));
  const inspector = trustBundleInspector(settings.trustBundlePem);
  const iotHub = o.iotHub ?? settings.iotHub;
  // One access for both IoT Hub adapters: one credential, one cached token per hub.
  const tokenClock = o.tokenClock ?? clock;
  const access = iotHub ? IotHubAccess.fromSettings(iotHub, () => tokenClock.now()) : undefined;
  const methods =
    o.methods ??
    (iotHub && access ? new IotHubDeviceMethods({ settings: iotHub, access }) : undefined);
  const twins = o.twins ?? (access ? new IotHubTwinQuery({ access }) : undefined);
  const sleep =
    o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const alertStore = new TableAlertStore(
    clients.table(`${prefix}alerts`),
    clients.table(`${prefix}alertoutbox`),
  );
  const sinks = o.alertSinks ?? alertSinks(settings.alerts);
  const alertLog: AlertLog = o.alertLog ?? { info: () => undefined, error: () => undefined };
  const alertRelay = new AlertRelay({
    store: alertStore,
    audit,
    sinks: sinks.map((s) => s.name),
    log: alertLog,
    settings: settings.alerts.rules,
  });
  const alerts = new DeliverAlerts({
    store: alertStore,
    sinks,
    audit,
    relay: alertRelay,
    log: alertLog,
    clock,
    settings: settings.alerts.rules,
    policy: DEFAULT_DELIVERY_POLICY,
  });
  const fleetReview = new ReviewFleet({
    ledger,
    store: alertStore,
    relay: alertRelay,
    clock,
    settings: settings.alerts.rules,
    renewalsPerMinute: settings.renewal.renewalsPerMinute,
    cas: inspector.trustAnchors(),
  });
  const rotations = new PlanRotation({
    ledger,
    store: new TableRotationStore(clients.table(`${prefix}state`)),
    audit,
    clock,
    alertRelay,
    alertStore,
    settings: {
      renewalsPerMinute: settings.renewal.renewalsPerMinute,
      timing: settings.renewal.timing,
      alerts: settings.alerts.rules,
    },
  });
  const renewals = new RenewDevices({
    ledger,
    audit,
    alertRelay,
    pacing: new TablePacingStore(clients.table(`${prefix}state`)),
    ...(methods ? { methods } : {}),
    clock,
    sleep,
    settings: {
      methodCallsPerSecond: settings.renewal.methodCallsPerSecond,
      horizonMs: settings.renewal.horizonMs,
      maxConcurrentCalls: 32,
      timing: settings.renewal.timing,
      pacing: { ...DEFAULT_PACING_POLICY, renewalsPerMinute: settings.renewal.renewalsPerMinute },
      alerts: settings.alerts.rules,
    },
  });
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector,
    clock,
    settings: {
      certificatePath: settings.certificatePath,
      maxBodyBytes: settings.maxBodyBytes,
      maxPemBytes: settings.maxPemBytes,
      renewalPolicy: settings.renewalPolicy,
      cohortPolicies: settings.renewal.cohortPolicies,
      cohortTag: settings.renewal.cohortTag,
      ...(settings.commonNameMismatchSeverity
        ? { commonNameMismatchSeverity: settings.commonNameMismatchSeverity }
        : {}),
      hubs: (iotHub?.hubs ?? []).map((target) => normalizeHubName(target.hub)),
      alerts: settings.alerts.rules,
    },
    alertRelay,
    askNow: async (devices) => {
      await renewals.askNow(devices, 'device-connected');
    },
  });
  const key = checkpointKey(settings);
  const checkpointStore = new BlobCheckpointStore(clients.container(`${prefix}-auditcheckpoints`));
  const checkpoints = key
    ? new TakeCheckpoint({
        blobs: audit,
        store: checkpointStore,
        signer: key,
        keys: key,
        clock,
        ...(o.auditLog ? { log: o.auditLog } : {}),
      })
    : undefined;
  const reportArchive = new BlobReportArchive(clients.container(`${prefix}-reports`));
  const verifyTrail = key
    ? new VerifyAuditTrail({
        blobs: audit,
        store: checkpointStore,
        keys: key,
        clock,
        reports: reportArchive,
      })
    : undefined;
  const reconcile = twins
    ? new ReconcileTwins({
        twins,
        ingest,
        clock,
        sleep,
        settings: { queriesPerMinute: settings.reconcile.twinQueriesPerMinute },
      })
    : undefined;
  const fleetAudit = new RunFleetAudit({
    ledger,
    clock,
    settings: settings.auditChecks,
    cas: inspector.trustAnchors(),
    alerts: { store: alertStore, relay: alertRelay },
  });
  const reports = new FleetReports({
    ledger,
    alertStore,
    audit,
    clock,
    auditChecks: settings.auditChecks,
    cas: inspector.trustAnchors(),
  });
  return {
    settings,
    storageDescription: clients.description,
    ledger,
    audit,
    deadLetters,
    ingest,
    renewals,
    ...(reconcile ? { reconcile } : {}),
    alertStore,
    alertSinks: sinks,
    alerts,
    fleetReview,
    rotations,
    fleetAudit,
    reports,
    pointInTime: new PointInTimeReports({
      archive: reportArchive,
      audit,
      clock,
      sources: {
        summary: () => reports.summary(),
        devicesCsv: () => reports.deviceText('csv', {}),
        findings: () => fleetAudit.run(),
      },
    }),
    dashboard: new DashboardData({ ledger, alerts: alertStore, reports, clock }),
    ...(checkpoints ? { checkpoints } : {}),
    ...(verifyTrail ? { verifyTrail } : {}),
    migrateLedger: (progress) => tables.migrateLegacy(progress),
    health: healthCheck(settings, clients, access),
  };
}

/**
 * The health check over the fleet storage, the Event Hubs trigger's partitions and checkpoints
 * (when `IotHubEvents` is set) and each configured hub. It runs on the system clock whatever the
 * services' clock: it tells about now, and a simulation's clock stands still once it ends.
 */
function healthCheck(
  settings: Settings,
  clients: StorageClients,
  access: IotHubAccess | undefined,
): CheckHealth {
  const prefix = settings.storagePrefix;
  const stream = settings.eventStream;
  return new CheckHealth({
    storage: new FleetStorageProbe(
      clients.table(`${prefix}ledger`),
      clients.container(`${prefix}-audit`),
    ),
    ...(stream?.kind === 'configured'
      ? {
          eventStream: {
            partitions: new EventHubPartitionEnds(stream.eventHub),
            checkpoints: new FunctionsTriggerCheckpoints(stream.eventHub, stream.hostStorage),
          },
        }
      : stream
        ? { eventStream: stream }
        : {}),
    ...(access ? { hubs: new IotHubServiceStatistics({ access }) } : {}),
    clock: systemClock,
  });
}

/** Storage clients from the settings; a connection string the SDKs refuse is a settings problem. */
function storage(settings: Settings, clock: Clock) {
  try {
    const clients = StorageClients.fromSettings(settings.storage);
    const prefix = settings.storagePrefix;
    const tables = new TableCertificateLedger(
      clients.table(`${prefix}ledger`),
      new LegacyLedgerTables(clients.table(`${prefix}devices`), clients.table(`${prefix}due`)),
    );
    // Audit entries leave a record by a receipt, not by writing it again.
    const receipts = new TableAuditReceipts(clients.table(`${prefix}state`));
    const ledger = new ReceiptedLedger(tables, receipts, clock);
    return { clients, ledger, tables };
  } catch (error) {
    throw new SettingsError([`FleetStorage: not usable (${(error as Error).message})`]);
  }
}

/** A trust bundle that does not parse is a settings problem, named as such. */
function trustBundleInspector(pem: string | undefined): X509CertificateInspector {
  try {
    return new X509CertificateInspector(pem);
  } catch (error) {
    throw new SettingsError([
      `CERTFLEET_TRUST_BUNDLE: not a readable PEM bundle (${(error as Error).message})`,
    ]);
  }
}

/**
 * The Functions host collects what the worker writes to the console into Application Insights
 * (`traces`), errors at severity Error: the alert lines docs/alerts.md's queries read.
 */
const HOST_LOG: AlertLog = {
  info: (line) => console.log(line),
  error: (line) => console.error(line),
};

let shared: Services | undefined;

/** The process's services, built on first use from the environment. */
export function services(): Services {
  shared ??= buildServices(loadSettings(process.env), {
    alertLog: HOST_LOG,
    auditLog: HOST_LOG,
  });
  return shared;
}

/** For hosts that build services themselves (the local host, tests). */
export function useServices(instance: Services | undefined): void {
  shared = instance;
}
