import { AlertTransitionKind } from '../alerts/AlertState';
import { AuditEntry, AuditEventType } from '../AuditEntry';
import { CertificateIdentity } from '../Certificate';
import { DeviceRecord, HeldCertificate } from '../DeviceRecord';
import { Finding } from '../Finding';
import { RenewalStatus } from '../renewal/RenewalState';

/**
 * One device's history for auditors (`certfleet history`, `GET /api/devices/{id}/history`):
 * every certificate it held (the ledger's history), every renewal campaign with who asked, each
 * attempt and how it ended (the audit trail), its findings and its alerts, open and past. Built
 * from the ledger record and the device's audit records over the dates read (`trail`).
 */
export interface DeviceHistory {
  hub: string;
  deviceId: string;
  lifecycle: DeviceRecord['lifecycle'];
  createdAt: string | null;
  deletedAt: string | null;
  renewalStatus: RenewalStatus;
  /** Every certificate the device id held, oldest first; the one it holds now is `current`. */
  certificates: (HeldCertificate & { current: boolean })[];
  campaigns: Campaign[];
  /** Certificate and device events of the audit trail (first seen, renewed, expired, deleted…). */
  events: HistoryEvent[];
  /** The findings on the record now. */
  findings: Finding[];
  alerts: {
    /** Open now (the record's own, one per rule). */
    open: { rule: string; severity: string; summary: string; raisedAt: string }[];
    /** Raised, escalated and resolved, from the audit trail, oldest first. */
    transitions: {
      at: string;
      kind: AlertTransitionKind;
      rule: string;
      severity: string;
      summary: string;
      alertId: string;
    }[];
    /** Notifications a sink accepted, or a fleet alert said for the device. */
    deliveries: { at: string; rule: string; status: string; sink: string; deliveredAs: string }[];
  };
  /** Which audit dates were read, and what they held for this device. */
  trail: HistoryTrail;
}

export interface HistoryTrail {
  /** The first and last UTC dates read (YYYY-MM-DD). */
  from: string;
  to: string;
  dates: number;
  records: number;
  /** Lines of those dates' audit blobs that did not verify, left out. */
  badLines: number;
}

export interface Campaign {
  campaignId: string;
  /** `due`, `capacity` (started early), `manual`. */
  trigger: string | null;
  startedAt: string | null;
  /** Manual renewals: who asked (as certfleet recorded it: vouched for or claimed). */
  requestedBy: string | null;
  /** Manual renewals: why. */
  reason: string | null;
  attempts: {
    at: string;
    requestId: string | null;
    outcome: string | null;
    status: number | null;
  }[];
  failures: { at: string; reason: string | null }[];
  /**
   * How it ended: `succeeded`, `abandoned`, `moved` (to another hub), `expired`; or, for the
   * campaign in progress, the record's renewal status; `unknown` when its end is not in the
   * dates read.
   */
  outcome: string;
  endedAt: string | null;
  /** How it ended, in certfleet's words (why it was abandoned, where it moved). */
  detail: string | null;
  durationMs: number | null;
}

export interface HistoryEvent {
  at: string;
  type: AuditEventType;
  detail: string | null;
  old: CertificateIdentity | null;
  new: CertificateIdentity | null;
  findings: string[];
  /** certificate.renewed: whether certfleet's campaign or the device itself renewed. */
  renewedBy: string | null;
}

const CAMPAIGN_ENDS: Partial<Record<AuditEventType, string>> = {
  'renewal.succeeded': 'succeeded',
  'renewal.abandoned': 'abandoned',
  'renewal.moved': 'moved',
};

export function deviceHistory(
  record: DeviceRecord,
  entries: readonly AuditEntry[],
  trail: HistoryTrail,
): DeviceHistory {
  const ordered = [...entries].sort((a, b) => compare(a.occurredAt, b.occurredAt));
  const campaigns = new Map<string, Campaign>();
  const events: HistoryEvent[] = [];
  const transitions: DeviceHistory['alerts']['transitions'] = [];
  const deliveries: DeviceHistory['alerts']['deliveries'] = [];
  const campaignOf = (id: string): Campaign => {
    let campaign = campaigns.get(id);
    if (!campaign) {
      campaign = {
        campaignId: id,
        trigger: null,
        startedAt: null,
        requestedBy: null,
        reason: null,
        attempts: [],
        failures: [],
        outcome: 'unknown',
        endedAt: null,
        detail: null,
        durationMs: null,
      };
      campaigns.set(id, campaign);
    }
    return campaign;
  };

  for (const entry of ordered) {
    const campaignId = entry.renewal?.campaignId;
    if (entry.type.startsWith('renewal.') && campaignId) {
      const campaign = campaignOf(campaignId);
      const renewal = entry.renewal!;
      campaign.trigger ??= renewal.trigger ?? null;
      if (entry.type === 'renewal.due') {
        // A manual request during a campaign asks again: the campaign began at its first due.
        campaign.startedAt ??= entry.occurredAt;
        if (renewal.requestedBy !== undefined) {
          campaign.requestedBy = renewal.requestedBy;
          campaign.reason = entry.detail?.replace(/^manual renewal: /, '') ?? null;
        }
      } else if (entry.type === 'renewal.requested') {
        campaign.attempts.push({
          at: entry.occurredAt,
          requestId: renewal.requestId ?? null,
          outcome: renewal.outcome ?? null,
          status: renewal.status ?? null,
        });
      } else if (entry.type === 'renewal.failed') {
        campaign.failures.push({ at: entry.occurredAt, reason: renewal.reason ?? null });
      } else {
        const end = CAMPAIGN_ENDS[entry.type];
        if (end !== undefined) {
          campaign.outcome = end;
          campaign.endedAt = entry.occurredAt;
          campaign.detail = renewal.reason ?? entry.detail ?? null;
          campaign.durationMs = renewal.durationMs ?? null;
        }
      }
      continue;
    }
    if (entry.alert && entry.type !== 'alert.delivered') {
      transitions.push({
        at: entry.alert.at,
        kind: entry.alert.kind,
        rule: entry.alert.rule,
        severity: entry.alert.severity,
        summary: entry.alert.summary,
        alertId: entry.alert.alertId,
      });
      continue;
    }
    if (entry.delivery) {
      deliveries.push({
        at: entry.occurredAt,
        rule: entry.delivery.rule,
        status: entry.delivery.status,
        sink: entry.delivery.sink,
        deliveredAs: entry.delivery.deliveredAs,
      });
      continue;
    }
    if (entry.type === 'certificate.expired' && campaignId) {
      const campaign = campaignOf(campaignId);
      if (campaign.outcome === 'unknown') {
        campaign.outcome = 'expired';
        campaign.endedAt = entry.occurredAt;
      }
    }
    events.push({
      at: entry.occurredAt,
      type: entry.type,
      detail: entry.detail ?? null,
      old: entry.old ?? null,
      new: entry.new ?? null,
      findings: entry.findings ?? [],
      renewedBy: entry.renewal?.renewedBy ?? null,
    });
  }

  // The campaign under way: its state is the record's, whatever the dates read held of it.
  const renewal = record.renewal;
  if (renewal?.campaignId) {
    const campaign = campaignOf(renewal.campaignId);
    campaign.trigger ??= renewal.trigger ?? null;
    campaign.startedAt ??= renewal.startedAt ?? null;
    if (campaign.outcome === 'unknown') {
      campaign.outcome = renewal.status;
      if (renewal.reason !== undefined) campaign.detail = renewal.reason;
    }
  }

  const current = record.current;
  const held = record.history ?? [];
  return {
    hub: record.hub,
    deviceId: record.deviceId,
    lifecycle: record.lifecycle,
    createdAt: record.createdAt ?? null,
    deletedAt: record.deletedAt ?? null,
    renewalStatus: renewal?.status ?? 'healthy',
    certificates: held.map((h, i) => ({
      ...h,
      current:
        i === held.length - 1 &&
        current !== undefined &&
        h.firstSeenAt === current.firstSeenAt &&
        h.incarnation === (record.incarnation ?? 0),
    })),
    campaigns: [...campaigns.values()].sort((a, b) =>
      compare(a.startedAt ?? a.endedAt ?? '', b.startedAt ?? b.endedAt ?? ''),
    ),
    events,
    findings: record.findings,
    alerts: {
      open: (record.alerts ?? []).map((a) => ({
        rule: a.rule,
        severity: a.severity,
        summary: a.summary,
        raisedAt: a.episodeStartedAt,
      })),
      transitions,
      deliveries,
    },
    trail,
  };
}

/**
 * The first UTC date the device's audit records can be on: the earliest time the record knows
 * of (its creation, the first certificate it held, a finding, an alert). Audit records are filed
 * by when things happened, and nothing happened to this device id before the ledger knew it.
 */
export function firstDateOf(record: DeviceRecord): string {
  const times = [
    record.createdAt,
    record.history?.[0]?.firstSeenAt,
    record.previous?.firstSeenAt,
    record.current?.firstSeenAt,
    record.renewal?.startedAt,
    ...record.findings.map((f) => f.detectedAt),
    ...(record.alerts ?? []).map((a) => a.episodeStartedAt),
    record.updatedAt,
  ].filter((t): t is string => t !== undefined && !Number.isNaN(Date.parse(t)));
  const earliest = Math.min(...times.map((t) => Date.parse(t)));
  return new Date(earliest).toISOString().slice(0, 10);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
