import { ALERT_RULES, AlertScope, AlertSeverity } from '../../domain/alerts/AlertRule';
import { AlertState } from '../../domain/alerts/AlertState';
import { fleetSubject } from '../../domain/alerts/rollUp';
import { AlertFilter, AlertStore } from '../ports';

/** The filter of `GET /api/alerts` and `certfleet alerts`, or what is wrong with it. */
export function alertFilterFrom(query: {
  severity?: string | undefined;
  rule?: string | undefined;
  scope?: string | undefined;
  hub?: string | undefined;
}): { filter: AlertFilter } | { problem: string } {
  const filter: AlertFilter = {};
  if (query.severity !== undefined) {
    if (query.severity !== 'warning' && query.severity !== 'critical')
      return { problem: 'severity must be warning or critical' };
    filter.severity = query.severity as AlertSeverity;
  }
  if (query.rule !== undefined) {
    if (!(ALERT_RULES as readonly string[]).includes(query.rule))
      return { problem: `rule must be one of ${ALERT_RULES.join(', ')}` };
    filter.rule = query.rule;
  }
  if (query.scope !== undefined) {
    if (query.scope !== 'device' && query.scope !== 'fleet')
      return { problem: 'scope must be device or fleet' };
    filter.scope = query.scope as AlertScope;
  }
  if (query.hub !== undefined) {
    if (query.hub.length === 0 || query.hub.length > 128)
      return { problem: 'hub must be an IoT Hub name' };
    filter.hub = query.hub.toLowerCase();
  }
  return { filter };
}

/** An open alert as the API and the CLI show it: what ops act on, in a stable shape. */
export interface AlertView {
  id: string;
  rule: string;
  severity: AlertSeverity;
  scope: AlertScope;
  summary: string;
  raisedAt: string;
  hub?: string;
  deviceId?: string;
  validUntil?: string;
  count?: number;
  sample?: string[];
  /** A device alert that an open fleet alert speaks for: that alert's id. */
  rolledUpInto?: string;
}

export function alertView(state: AlertState): AlertView {
  const view: AlertView = {
    id: state.id,
    rule: state.rule,
    severity: state.severity,
    scope: state.scope,
    summary: state.summary,
    raisedAt: state.episodeStartedAt,
  };
  if (state.hub !== undefined) view.hub = state.hub;
  if (state.deviceId !== undefined) view.deviceId = state.deviceId;
  if (state.validUntil !== undefined) view.validUntil = state.validUntil;
  if (state.count !== undefined) view.count = state.count;
  if (state.sample !== undefined) view.sample = state.sample;
  return view;
}

/**
 * Open alerts, critical first, then by rule, then by when they were raised. A device alert that
 * an open fleet alert speaks for is marked `rolledUpInto` (the fleet alert's id).
 */
export async function listAlerts(store: AlertStore, filter: AlertFilter): Promise<AlertView[]> {
  const fleet = new Map<string, string>();
  for await (const state of store.listOpen({ scope: 'fleet' })) fleet.set(state.subject, state.id);
  const views: AlertView[] = [];
  for await (const state of store.listOpen(filter)) {
    const view = alertView(state);
    const into = state.scope === 'device' ? fleet.get(fleetSubject(state)) : undefined;
    if (into !== undefined) view.rolledUpInto = into;
    views.push(view);
  }
  const rank = (v: AlertView) => (v.severity === 'critical' ? 0 : 1);
  return views.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      a.rule.localeCompare(b.rule) ||
      a.raisedAt.localeCompare(b.raisedAt) ||
      a.id.localeCompare(b.id),
  );
}
