import { deviceKeyString } from '../DeviceKey';
import { currentCameUnexpectedly } from '../ledger/auditEntry';
import { DeviceRecord } from '../DeviceRecord';
import { FindingCode } from '../Finding';
import { RenewalStatus } from '../renewal/RenewalState';
import { AlertCondition } from './AlertCondition';
import { AlertRule, AlertSeverity } from './AlertRule';
import { AlertSettings } from './AlertSettings';
import { criticalFrom, warningFrom } from './expiryWindows';

/**
 * The alert conditions one ledger record is in at `now`: a pure, ordered chain of checks, each
 * `record -> condition | nothing` (like cert-manager's readiness checks). Moved and deleted
 * devices are another record's business, or nobody's: they have none.
 */
export function deviceConditions(
  record: DeviceRecord,
  now: string,
  settings: AlertSettings,
): AlertCondition[] {
  if (record.lifecycle === 'deleted' || record.renewal?.status === 'moved') return [];
  const at = Date.parse(now);
  const device: DeviceFacts = { record, at, settings };
  return CHECKS.flatMap((check) => check(device));
}

interface DeviceFacts {
  record: DeviceRecord;
  at: number;
  settings: AlertSettings;
}

type Check = (device: DeviceFacts) => AlertCondition[];

const CHECKS: readonly Check[] = [
  certificateExpiring,
  certificateExpired,
  renewalOverdue,
  renewalFailed,
  deviceSilent,
  securityFindings,
  changedUnexpectedly,
];

/** Renewal is making progress: waiting for its slot, or the device accepted and has time. */
const IN_FLIGHT: readonly RenewalStatus[] = ['due', 'requested'];

function certificateExpiring({ record, at, settings }: DeviceFacts): AlertCondition[] {
  const current = record.current;
  if (!current) return [];
  if (at >= Date.parse(current.validUntil)) return []; // certificate-expired says so
  if (at < warningFrom(current, settings)) return [];
  const status = record.renewal?.status ?? 'healthy';
  if (IN_FLIGHT.includes(status)) return [];
  const givenUp = status === 'failed';
  const severity: AlertSeverity =
    at >= criticalFrom(current, settings) || givenUp ? 'critical' : 'warning';
  const why =
    status === 'healthy'
      ? 'no renewal has started'
      : status === 'failed'
        ? 'its renewal was given up'
        : 'its renewal is failing';
  return [
    condition(
      record,
      'certificate-expiring',
      severity,
      `expires at ${current.validUntil} and ${why}`,
    ),
  ];
}

function certificateExpired({ record, at }: DeviceFacts): AlertCondition[] {
  const current = record.current;
  // The same instant as the renewal state machine's certificateExpired.
  if (!current || at < Date.parse(current.validUntil)) return [];
  return [
    condition(
      record,
      'certificate-expired',
      'critical',
      `expired at ${current.validUntil}; the device must re-provision through DPS`,
    ),
  ];
}

function renewalOverdue({ record, at, settings }: DeviceFacts): AlertCondition[] {
  const current = record.current;
  if (!current || !record.renewalDueAt) return [];
  if (at >= Date.parse(current.validUntil)) return []; // certificate-expired says so
  if (at < Date.parse(record.renewalDueAt) + settings.overdueAfterMs) return [];
  return [
    condition(
      record,
      'renewal-overdue',
      'warning',
      `renewal fell due at ${record.renewalDueAt} and no new certificate has arrived`,
    ),
  ];
}

/**
 * Given up, or failing in a way retries will not mend: the device refused (it answers, and says
 * no). A CSR rejected by DPS is not recorded in the ledger (the device re-registers with DPS
 * itself), so it shows as a refusal or as no certificate by the deadline.
 */
function renewalFailed({ record }: DeviceFacts): AlertCondition[] {
  const renewal = record.renewal;
  if (!renewal) return [];
  if (renewal.status === 'failed') {
    return [
      condition(
        record,
        'renewal-failed',
        'critical',
        `renewal was given up after ${renewal.failures} failed attempts`,
      ),
    ];
  }
  if (renewal.status === 'retrying' && renewal.lastAttempt?.outcome === 'refused') {
    const status = renewal.lastAttempt.status;
    return [
      condition(
        record,
        'renewal-failed',
        'warning',
        `the device refused to renew${status !== undefined ? ` (status ${status})` : ''}, ${renewal.failures} time(s) so far`,
      ),
    ];
  }
  return [];
}

function deviceSilent({ record, at, settings }: DeviceFacts): AlertCondition[] {
  const current = record.current;
  if (!current || !record.renewalDueAt) return [];
  if (at < Date.parse(record.renewalDueAt) || at >= Date.parse(current.validUntil)) return [];
  if (record.connection.state === 'connected') return [];
  const heard = [record.lastSeenAt, record.connection.changedAt]
    .filter((t): t is string => t !== undefined)
    .map((t) => Date.parse(t));
  if (heard.length === 0) return [];
  const last = Math.max(...heard);
  if (at < last + settings.silentAfterMs) return [];
  return [
    condition(
      record,
      'device-silent',
      'warning',
      `has not been heard from since ${new Date(last).toISOString()}, and its renewal is due`,
    ),
  ];
}

/** The findings that are alerts, and the sentence each says (never the finding's own text). */
const SECURITY: Partial<Record<FindingCode, { rule: AlertRule; summary: string }>> = {
  'common-name-mismatch': {
    rule: 'common-name-mismatch',
    summary: 'its certificate names another device',
  },
  'chain-untrusted': {
    rule: 'chain-untrusted',
    summary: 'its certificate chain does not verify to the trust bundle',
  },
  'private-key-reported': {
    rule: 'private-key-reported',
    summary: 'it sent private key material, which must be treated as leaked',
  },
  'key-not-rotated': {
    rule: 'key-not-rotated',
    summary: 'its renewed certificate kept the old key pair',
  },
};

function securityFindings({ record }: DeviceFacts): AlertCondition[] {
  const seen = new Set<AlertRule>();
  const found: AlertCondition[] = [];
  for (const f of record.findings) {
    const alert = SECURITY[f.code];
    // An operator who set a finding to `info` asked not to be alerted.
    if (!alert || f.severity === 'info' || seen.has(alert.rule)) continue;
    seen.add(alert.rule);
    found.push(condition(record, alert.rule, f.severity, alert.summary));
  }
  return found;
}

/**
 * A certificate that replaced the previous one without outliving it is no renewal: someone
 * provisioned the device again, or an old certificate came back. It holds until the next
 * certificate arrives.
 */
function changedUnexpectedly({ record }: DeviceFacts): AlertCondition[] {
  if (!currentCameUnexpectedly(record)) return [];
  return [
    condition(
      record,
      'certificate-changed-unexpectedly',
      'warning',
      `its certificate changed to one valid no later than the one it replaced (until ${record.current!.validUntil}), outside any renewal`,
    ),
  ];
}

function condition(
  record: DeviceRecord,
  rule: AlertRule,
  severity: AlertSeverity,
  what: string,
): AlertCondition {
  const validUntil = record.current?.validUntil;
  const c: AlertCondition = {
    rule,
    severity,
    scope: 'device',
    subject: deviceKeyString(record),
    summary: `Device ${record.deviceId} in ${record.hub}: ${what}.`,
    hub: record.hub,
    deviceId: record.deviceId,
    cause: causeOf(record),
  };
  if (validUntil !== undefined) c.validUntil = validUntil;
  return c;
}

/** What devices have in common when they fire together: issuer, cohort, expiry day. */
function causeOf(record: DeviceRecord): string {
  const issuer = record.current?.issuer ?? record.reported?.issuer ?? '';
  const day = record.current?.validUntil.slice(0, 10) ?? '';
  return `issuer=${issuer};cohort=${record.cohort ?? ''};expires=${day}`;
}
