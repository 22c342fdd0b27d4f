import { z } from 'zod';
import { AlertConfig, loadAlertSettings } from './alertSettings';
import { loadAuditCheckSettings } from './auditCheckSettings';
import { CheckpointKeySettings, loadCheckpointKeySettings } from './checkpointSettings';
import { AuditCheckSettings, DEFAULT_AUDIT_CHECK_SETTINGS } from '../domain/audit/FleetAuditChecks';
import { IotHubSettings, loadIotHubSettings } from './iotHubSettings';
import { EventStreamCheckSettings, loadEventStreamCheckSettings } from './hostStorageSettings';
import { DEFAULT_ALERT_SETTINGS } from '../domain/alerts/AlertSettings';
import { readTrustBundle } from './readTrustBundle';
import {
  DEFAULT_TWIN_QUERIES_PER_MINUTE,
  ReconcileConfig,
  loadReconcileSettings,
} from './reconcileSettings';
import {
  RenewalConfig,
  renewalConfigFrom,
  renewalPolicyFrom,
  renewalPolicySettingsSchema,
  renewalSettingsSchema,
} from './renewalSettings';
import { Env, numberSetting, optionalText } from './settingSchemas';
import { SettingsError } from './SettingsError';
import { StorageSettings, storageSettingsFrom, storageSettingsSchema } from './storageSettings';
import { RenewalPolicy } from '../domain/RenewalPolicy';

// What callers have always imported from here.
export { SettingsError } from './SettingsError';
export type { RenewalConfig } from './renewalSettings';
export type { StorageSettings } from './storageSettings';

/**
 * certfleet's settings, read from the environment (Function app settings, or
 * local.settings.json's Values) and validated once at start-up. Every problem is reported at
 * once, each naming its setting. local.settings.sample.json lists them all.
 */
export interface Settings {
  storage: StorageSettings;
  /** Prefix of every table and container name, so several certfleets can share an account. */
  storagePrefix: string;
  /** Dotted path of the certificate object under the twin's reported properties. */
  certificatePath: string;
  /** PEM roots and issuing CAs the device chains must verify to; undefined: not checked. */
  trustBundlePem?: string;
  renewalPolicy: RenewalPolicy;
  auditShards: number;
  maxBodyBytes: number;
  /** Bytes of one PEM string of a report (`pem`, each of `chain`); IoT Hub's twin strings hold 4 KB. */
  maxPemBytes: number;
  /** CERTFLEET_CN_MISMATCH_SEVERITY; absent: the domain's default (critical). */
  commonNameMismatchSeverity?: 'warning' | 'critical';
  renewal: RenewalConfig;
  /** Where renewal requests go; undefined: no IoT Hub configured, requests disabled. */
  iotHub?: IotHubSettings;
  /** How the ledger is reconciled with IoT Hub's twins (only with an IoT Hub configured). */
  reconcile: ReconcileConfig;
  /**
   * CERTFLEET_TRUST_EASY_AUTH=true: App Service authentication (Easy Auth) is on, so the
   * platform sets `x-ms-client-principal-name` and a caller cannot (AZURE-FACTS.md). Present only
   * when true; absent, a name in that header is the caller's claim
   * (shared/domain/renewal/Requester.ts).
   */
  trustEasyAuth?: true;
  /** Alert rules' settings and the sinks configured (shared/config/alertSettings.ts). */
  alerts: AlertConfig;
  /** The fleet audit checks' settings (shared/config/auditCheckSettings.ts). */
  auditChecks: AuditCheckSettings;
  /** The key that signs the audit checkpoints; undefined: no checkpoints (checkpointSettings.ts). */
  checkpointKey?: CheckpointKeySettings;
  /**
   * The Event Hubs trigger's connection and host storage, for the health check's lag by
   * partition, or what is wrong with them; undefined: `IotHubEvents` is not set. Never stops
   * start-up (hostStorageSettings.ts).
   */
  eventStream?: EventStreamCheckSettings;
}

// One schema over every setting, so each invalid value is named in this order, whichever file
// owns it.
const schema = z.object({
  ...storageSettingsSchema.shape,
  CERTFLEET_STORAGE_PREFIX: optionalText.pipe(
    z
      .string()
      .regex(
        /^[a-z][a-z0-9]{2,30}$/,
        'must be 3-31 lower-case letters and digits, starting with a letter',
      )
      .default('certfleet'),
  ),
  CERTFLEET_CERTIFICATE_PROPERTY: optionalText.pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/,
        'must be a dotted property path such as certificate',
      )
      .default('certificate'),
  ),
  CERTFLEET_TRUST_BUNDLE: optionalText,
  CERTFLEET_TRUST_EASY_AUTH: optionalText
    .transform((v) => v?.toLowerCase())
    .pipe(
      z
        .enum(['true', 'false'], 'must be true or false: whether App Service authentication is on')
        .optional(),
    ),
  ...renewalPolicySettingsSchema.shape,
  CERTFLEET_AUDIT_SHARDS: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 64,
    'must be a whole number from 1 to 64',
  ),
  CERTFLEET_MAX_EVENT_BYTES: numberSetting(
    (n) => Number.isInteger(n) && n >= 1024 && n <= 4 * 1024 * 1024,
    'must be bytes, from 1024 to 4194304',
  ),
  ...renewalSettingsSchema.shape,
  CERTFLEET_CN_MISMATCH_SEVERITY: optionalText
    .transform((v) => v?.toLowerCase())
    .pipe(z.enum(['warning', 'critical'], 'must be warning or critical').optional()),
  CERTFLEET_MAX_PEM_BYTES: numberSetting(
    (n) => Number.isInteger(n) && n >= 1024 && n <= 256 * 1024,
    'must be bytes, from 1024 to 262144',
  ),
});

export function loadSettings(env: Env = process.env): Settings {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  const invalid = new Set<string>();
  let v: z.output<typeof schema>;
  if (parsed.success) v = parsed.data;
  else {
    problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    // Check the valid settings against each other too, so every problem is named at once.
    // Every setting is optional, so the rest always parses.
    for (const issue of parsed.error.issues) invalid.add(String(issue.path[0]));
    v = schema.parse(Object.fromEntries(Object.entries(env).filter(([k]) => !invalid.has(k))));
  }

  const storage = storageSettingsFrom(v, invalid, problems);
  const renewalPolicy = renewalPolicyFrom(v, problems);
  const trustBundlePem = v.CERTFLEET_TRUST_BUNDLE
    ? readTrustBundle(v.CERTFLEET_TRUST_BUNDLE, problems)
    : undefined;
  const renewal = renewalConfigFrom(v, problems);
  let iotHub: IotHubSettings | undefined;
  try {
    iotHub = loadIotHubSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  let alerts: AlertConfig = { rules: DEFAULT_ALERT_SETTINGS };
  try {
    alerts = loadAlertSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  let auditChecks: AuditCheckSettings = DEFAULT_AUDIT_CHECK_SETTINGS;
  try {
    auditChecks = loadAuditCheckSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  let checkpointKey: CheckpointKeySettings | undefined;
  try {
    checkpointKey = loadCheckpointKeySettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  let reconcile: ReconcileConfig = { twinQueriesPerMinute: DEFAULT_TWIN_QUERIES_PER_MINUTE };
  try {
    reconcile = loadReconcileSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  const eventStream = loadEventStreamCheckSettings(env);
  return {
    storage,
    storagePrefix: v.CERTFLEET_STORAGE_PREFIX,
    certificatePath: v.CERTFLEET_CERTIFICATE_PROPERTY,
    ...(trustBundlePem ? { trustBundlePem } : {}),
    ...(v.CERTFLEET_TRUST_EASY_AUTH === 'true' ? { trustEasyAuth: true as const } : {}),
    renewalPolicy,
    auditShards: v.CERTFLEET_AUDIT_SHARDS ?? 8,
    maxBodyBytes: v.CERTFLEET_MAX_EVENT_BYTES ?? 256 * 1024,
    // A twin string holds at most 4 KB (AZURE-FACTS.md, "Twin limits"); raise it only for
    // events that do not come through IoT Hub (`certfleet ingest` of files written elsewhere).
    maxPemBytes: v.CERTFLEET_MAX_PEM_BYTES ?? 4 * 1024,
    ...(v.CERTFLEET_CN_MISMATCH_SEVERITY
      ? { commonNameMismatchSeverity: v.CERTFLEET_CN_MISMATCH_SEVERITY }
      : {}),
    ...(iotHub ? { iotHub } : {}),
    renewal,
    reconcile,
    alerts,
    auditChecks,
    ...(checkpointKey ? { checkpointKey } : {}),
    ...(eventStream ? { eventStream } : {}),
  };
}
