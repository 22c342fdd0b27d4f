import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { HOUR_MS, MINUTE_MS } from '../domain/Clock';
import { IotHubSettings, loadIotHubSettings } from './iotHubSettings';
import {
  DEFAULT_TWIN_QUERIES_PER_MINUTE,
  ReconcileConfig,
  loadReconcileSettings,
} from './reconcileSettings';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from '../domain/renewal/RenewalTiming';
import { CohortPolicy, DEFAULT_RENEWAL_POLICY, RenewalPolicy } from '../domain/RenewalPolicy';

/**
 * certfleet's settings, read from the environment (Function app settings, or
 * local.settings.json's Values) and validated once at start-up. Every problem is reported at
 * once, each naming its setting. local.settings.sample.json lists them all.
 */
export type StorageSettings =
  | { kind: 'connection-string'; connectionString: string }
  | {
      kind: 'identity';
      blobServiceUri: string;
      tableServiceUri: string;
      credential?: 'managedidentity';
      clientId?: string;
    }
  | { kind: 'development' };

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
  maxPemBytes: number;
  renewal: RenewalConfig;
  /** Where renewal requests go; undefined: no IoT Hub configured, requests disabled. */
  iotHub?: IotHubSettings;
  /** How the ledger is reconciled with IoT Hub's twins (only with an IoT Hub configured). */
  reconcile: ReconcileConfig;
}

/** How certfleet renews (docs/renewal.md). */
export interface RenewalConfig {
  /** Twin tag naming a device's cohort. */
  cohortTag: string;
  cohortPolicies: CohortPolicy[];
  renewalsPerMinute: number;
  methodCallsPerSecond: number;
  horizonMs: number;
  timing: RenewalTiming;
}

export class SettingsError extends Error {
  readonly code = 'SETTINGS_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid settings: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}

type Env = Record<string, string | undefined>;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A number setting: empty means unset; otherwise it must parse and pass `check`. */
function numberSetting(check: (n: number) => boolean, requirement: string) {
  return optionalText
    .refine(
      (v) => v === undefined || (/^\s*-?\d+(\.\d+)?\s*$/.test(v) && check(Number(v))),
      requirement,
    )
    .transform((v) => (v === undefined ? undefined : Number(v)));
}

const schema = z.object({
  FleetStorage: optionalText,
  FleetStorage__blobServiceUri: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  FleetStorage__tableServiceUri: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  FleetStorage__credential: optionalText.pipe(z.enum(['managedidentity']).optional()),
  FleetStorage__clientId: optionalText,
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
  CERTFLEET_RENEW_AT_FRACTION: numberSetting(
    (n) => n > 0 && n < 1,
    'must be a number between 0 and 1',
  ),
  CERTFLEET_RENEW_BEFORE_HOURS: numberSetting(
    (n) => n > 0 && n <= 90 * 24,
    'must be hours, more than 0 and at most 2160',
  ),
  CERTFLEET_AUDIT_SHARDS: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 64,
    'must be a whole number from 1 to 64',
  ),
  CERTFLEET_MAX_EVENT_BYTES: numberSetting(
    (n) => Number.isInteger(n) && n >= 1024 && n <= 4 * 1024 * 1024,
    'must be bytes, from 1024 to 4194304',
  ),
  CERTFLEET_COHORT_TAG: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a twin tag name (letters, digits, _)')
      .default('cohort'),
  ),
  CERTFLEET_RENEWAL_POLICIES: optionalText,
  CERTFLEET_RENEWALS_PER_MINUTE: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
    'must be a whole number from 1 to 1000 (Azure certificate management renews 500 a minute)',
  ),
  CERTFLEET_METHOD_CALLS_PER_SECOND: numberSetting(
    (n) => n > 0 && n <= 100,
    'must be more than 0 and at most 100 calls a second per hub',
  ),
  CERTFLEET_PLANNING_HORIZON_HOURS: numberSetting(
    (n) => n >= 1 && n <= 168,
    'must be hours, from 1 to 168',
  ),
  CERTFLEET_RENEWAL_DEADLINE_MINUTES: numberSetting(
    (n) => Number.isInteger(n) && n >= 5 && n <= 1440,
    'must be whole minutes, from 5 to 1440',
  ),
  CERTFLEET_RENEWAL_MAX_FAILURES: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 50,
    'must be a whole number from 1 to 50',
  ),
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

  let storage: StorageSettings = { kind: 'development' };
  if (v.FleetStorage) {
    if (!/AccountName=|BlobEndpoint=|UseDevelopmentStorage=true/i.test(v.FleetStorage)) {
      problems.push(
        'FleetStorage: not a storage connection string (expected AccountName=… or BlobEndpoint=…)',
      );
    }
    storage = { kind: 'connection-string', connectionString: v.FleetStorage };
  } else if (v.FleetStorage__blobServiceUri || v.FleetStorage__tableServiceUri) {
    if (!v.FleetStorage__blobServiceUri && !invalid.has('FleetStorage__blobServiceUri'))
      problems.push('FleetStorage__blobServiceUri: required with FleetStorage__tableServiceUri');
    if (!v.FleetStorage__tableServiceUri && !invalid.has('FleetStorage__tableServiceUri'))
      problems.push('FleetStorage__tableServiceUri: required with FleetStorage__blobServiceUri');
    storage = {
      kind: 'identity',
      blobServiceUri: v.FleetStorage__blobServiceUri ?? '',
      tableServiceUri: v.FleetStorage__tableServiceUri ?? '',
      ...(v.FleetStorage__credential ? { credential: v.FleetStorage__credential } : {}),
      ...(v.FleetStorage__clientId ? { clientId: v.FleetStorage__clientId } : {}),
    };
  }

  let renewalPolicy: RenewalPolicy = DEFAULT_RENEWAL_POLICY;
  if (v.CERTFLEET_RENEW_AT_FRACTION !== undefined && v.CERTFLEET_RENEW_BEFORE_HOURS !== undefined) {
    problems.push('CERTFLEET_RENEW_AT_FRACTION, CERTFLEET_RENEW_BEFORE_HOURS: set one, not both');
  } else if (v.CERTFLEET_RENEW_AT_FRACTION !== undefined) {
    renewalPolicy = { kind: 'fraction', fraction: v.CERTFLEET_RENEW_AT_FRACTION };
  } else if (v.CERTFLEET_RENEW_BEFORE_HOURS !== undefined) {
    renewalPolicy = { kind: 'before', renewBeforeMs: v.CERTFLEET_RENEW_BEFORE_HOURS * HOUR_MS };
  }

  const trustBundlePem = v.CERTFLEET_TRUST_BUNDLE
    ? readTrustBundle(v.CERTFLEET_TRUST_BUNDLE, problems)
    : undefined;
  const cohortPolicies = v.CERTFLEET_RENEWAL_POLICIES
    ? parseCohortPolicies(v.CERTFLEET_RENEWAL_POLICIES, problems)
    : [];
  let iotHub: IotHubSettings | undefined;
  try {
    iotHub = loadIotHubSettings(env);
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
  const timing: RenewalTiming = { ...DEFAULT_RENEWAL_TIMING };
  if (v.CERTFLEET_RENEWAL_DEADLINE_MINUTES !== undefined) {
    timing.requestTimeoutMs = v.CERTFLEET_RENEWAL_DEADLINE_MINUTES * MINUTE_MS;
  }
  if (v.CERTFLEET_RENEWAL_MAX_FAILURES !== undefined)
    timing.maxFailures = v.CERTFLEET_RENEWAL_MAX_FAILURES;
  return {
    storage,
    storagePrefix: v.CERTFLEET_STORAGE_PREFIX,
    certificatePath: v.CERTFLEET_CERTIFICATE_PROPERTY,
    ...(trustBundlePem ? { trustBundlePem } : {}),
    renewalPolicy,
    auditShards: v.CERTFLEET_AUDIT_SHARDS ?? 8,
    maxBodyBytes: v.CERTFLEET_MAX_EVENT_BYTES ?? 256 * 1024,
    maxPemBytes: v.CERTFLEET_MAX_PEM_BYTES ?? 32 * 1024,
    ...(iotHub ? { iotHub } : {}),
    renewal: {
      cohortTag: v.CERTFLEET_COHORT_TAG,
      cohortPolicies,
      renewalsPerMinute: v.CERTFLEET_RENEWALS_PER_MINUTE ?? 400,
      methodCallsPerSecond: v.CERTFLEET_METHOD_CALLS_PER_SECOND ?? 10,
      horizonMs: (v.CERTFLEET_PLANNING_HORIZON_HOURS ?? 12) * HOUR_MS,
      timing,
    },
    reconcile,
  };
}

const cohortPolicySchema = z
  .object({
    cohort: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    renewAtFraction: z.number().gt(0).lt(1).optional(),
    renewBeforeHours: z
      .number()
      .positive()
      .max(90 * 24)
      .optional(),
  })
  .strict()
  .refine(
    (p) => (p.cohort === undefined) !== (p.issuer === undefined),
    'name a cohort or an issuer, one of them',
  )
  .refine(
    (p) => (p.renewAtFraction === undefined) !== (p.renewBeforeHours === undefined),
    'give renewAtFraction or renewBeforeHours, one of them',
  );

/**
 * CERTFLEET_RENEWAL_POLICIES: a JSON array, first match wins, e.g.
 * `[{"cohort":"rsa-legacy","renewAtFraction":0.7},{"issuer":"CN=Partner CA","renewBeforeHours":72}]`.
 */
function parseCohortPolicies(text: string, problems: string[]): CohortPolicy[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push('CERTFLEET_RENEWAL_POLICIES: not JSON (a JSON array of policies)');
    return [];
  }
  const parsed = z.array(cohortPolicySchema).safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`CERTFLEET_RENEWAL_POLICIES[${issue.path.join('.')}]: ${issue.message}`);
    }
    return [];
  }
  return parsed.data.map((p) => {
    const policy: RenewalPolicy =
      p.renewAtFraction !== undefined
        ? { kind: 'fraction', fraction: p.renewAtFraction }
        : { kind: 'before', renewBeforeMs: (p.renewBeforeHours ?? 0) * HOUR_MS };
    return {
      ...(p.cohort ? { cohort: p.cohort } : {}),
      ...(p.issuer ? { issuer: p.issuer } : {}),
      policy,
    };
  });
}

/** The trust bundle is PEM text in the setting itself, or the path of a PEM file. */
function readTrustBundle(value: string, problems: string[]): string | undefined {
  const pem = value.includes('-----BEGIN')
    ? value.replace(/\\n/g, '\n')
    : readPemFile(value, problems);
  if (pem === undefined) return undefined;
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    problems.push('CERTFLEET_TRUST_BUNDLE: holds no CERTIFICATE block');
    return undefined;
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    problems.push('CERTFLEET_TRUST_BUNDLE: holds a private key; it must hold certificates only');
    return undefined;
  }
  return pem;
}

function readPemFile(path: string, problems: string[]): string | undefined {
  if (!existsSync(path)) {
    problems.push(`CERTFLEET_TRUST_BUNDLE: neither PEM text nor an existing file (${path})`);
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(
      `CERTFLEET_TRUST_BUNDLE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
    return undefined;
  }
}
