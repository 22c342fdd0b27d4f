import { fleetSubject } from '../../domain/alerts/rollUp';
import { Clock, isoUtc } from '../../domain/Clock';
import { FleetSummary } from '../../domain/reports/FleetSummary';
import { AlertView, alertView } from '../alerts/listAlerts';
import { AlertStore, CertificateLedger } from '../ports';
import { AttentionDevice, MostUrgent, needsAttention } from './needsAttention';

/** What the dashboard shows: the fleet summary, the devices needing attention, the open alerts. */
export interface DashboardView {
  summary: FleetSummary;
  attention: {
    /** Every device needing attention. */
    total: number;
    /** The most urgent of them, most urgent first, at most `limit`. */
    devices: AttentionDevice[];
    limit: number;
  };
  openAlerts: {
    /** Every open alert, device and fleet. */
    total: number;
    /** The first of them, critical first (as `GET /api/alerts` orders them), at most `limit`. */
    alerts: AlertView[];
    limit: number;
  };
}

/** Where the summary comes from (shared/app/reports/FleetReports.ts). */
export interface FleetSummarySource {
  summary(): Promise<FleetSummary>;
}

export interface DashboardLimits {
  /** Devices needing attention listed (default 50). */
  attention: number;
  /** Open alerts listed (default 100). */
  alerts: number;
}

export const DEFAULT_DASHBOARD_LIMITS: DashboardLimits = { attention: 50, alerts: 100 };

/**
 * Use case: the dashboard's data (`GET /api/dashboard`). The summary comes from the fleet
 * reports; the attention list is one streamed pass over the ledger, keeping only the most
 * urgent (shared/app/dashboard/needsAttention.ts); the alert list one pass over the open
 * alerts, keeping only the first. Both lists are bounded, whatever the size of the fleet.
 */
export class DashboardData {
  private readonly limits: DashboardLimits;

  constructor(
    private readonly deps: {
      ledger: CertificateLedger;
      alerts: AlertStore;
      reports: FleetSummarySource;
      clock: Clock;
      limits?: Partial<DashboardLimits>;
    },
  ) {
    this.limits = { ...DEFAULT_DASHBOARD_LIMITS, ...deps.limits };
  }

  async view(): Promise<DashboardView> {
    // The three reads are independent: run side by side, the page costs the slowest of them.
    const [summary, attention, openAlerts] = await Promise.all([
      this.deps.reports.summary(),
      this.attention(),
      this.openAlerts(),
    ]);
    return { summary, attention, openAlerts };
  }

  async attention(): Promise<DashboardView['attention']> {
    const now = isoUtc(this.deps.clock.now());
    const urgent = new MostUrgent(this.limits.attention);
    for await (const record of this.deps.ledger.list()) {
      const device = needsAttention(record, now);
      if (device) urgent.add(device);
    }
    return { total: urgent.total, devices: urgent.devices(), limit: this.limits.attention };
  }

  async openAlerts(): Promise<DashboardView['openAlerts']> {
    const { alerts: store } = this.deps;
    const limit = this.limits.alerts;
    const fleet = new Map<string, string>();
    for await (const state of store.listOpen({ scope: 'fleet' }))
      fleet.set(state.subject, state.id);
    let total = 0;
    let kept: AlertView[] = [];
    for await (const state of store.listOpen()) {
      total += 1;
      const view = alertView(state);
      const into = state.scope === 'device' ? fleet.get(fleetSubject(state)) : undefined;
      if (into !== undefined) view.rolledUpInto = into;
      kept.push(view);
      if (kept.length >= 2 * Math.max(limit, 1)) kept = firstAlerts(kept, limit);
    }
    return { total, alerts: firstAlerts(kept, limit), limit };
  }
}

/** Critical first, then by rule, then the oldest: the order of `GET /api/alerts`. */
function firstAlerts(views: AlertView[], limit: number): AlertView[] {
  const rank = (v: AlertView) => (v.severity === 'critical' ? 0 : 1);
  return views
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        a.rule.localeCompare(b.rule) ||
        a.raisedAt.localeCompare(b.raisedAt) ||
        a.id.localeCompare(b.id),
    )
    .slice(0, limit);
}
