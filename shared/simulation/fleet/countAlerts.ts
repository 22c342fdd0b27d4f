import { AlertSinkName } from '../../app/ports';
import { ALERT_RULES, AlertSeverity } from '../../domain/alerts/AlertRule';
import { AlertTransitionKind } from '../../domain/alerts/AlertState';
import { AlertRecords } from './FleetRecords';
import { FleetSummary } from './FleetSummary';

const KINDS: readonly AlertTransitionKind[] = ['raised', 'escalated', 'resolved'];
const SEVERITIES: readonly AlertSeverity[] = ['critical', 'warning'];

/**
 * The summary's Alerts section: transitions from the audit trail (by rule and kind), alerts
 * open at the end (the store, by rule and severity), the outbox by sink, and what the loopback
 * receiver got. Rules come in their documented order, so the same run prints the same lines.
 */
export function countAlerts(alerts: AlertRecords): FleetSummary['alerts'] {
  const transitions: Record<AlertTransitionKind, number> = { raised: 0, escalated: 0, resolved: 0 };
  const byKind = new Map<string, Partial<Record<AlertTransitionKind, number>>>();
  let fleetRaised = 0;
  for (const t of alerts.transitions) {
    transitions[t.kind] += 1;
    const rule = byKind.get(t.rule) ?? {};
    rule[t.kind] = (rule[t.kind] ?? 0) + 1;
    byKind.set(t.rule, rule);
    if (t.scope === 'fleet' && t.kind === 'raised') fleetRaised += 1;
  }
  const bySeverity = new Map<string, Partial<Record<AlertSeverity, number>>>();
  for (const state of alerts.open) {
    const rule = bySeverity.get(state.rule) ?? {};
    rule[state.severity] = (rule[state.severity] ?? 0) + 1;
    bySeverity.set(state.rule, rule);
  }
  const deliveries: FleetSummary['alerts']['deliveries'] = {};
  for (const d of alerts.deliveries) {
    const sink = (deliveries[d.sink] ??= { delivered: 0, rolledUp: 0, pending: 0 });
    if (d.state === 'delivered') sink.delivered += 1;
    else if (d.state === 'rolled-up') sink.rolledUp += 1;
    else sink.pending += 1;
  }
  const received = alerts.received;
  const byStatus: Partial<Record<AlertTransitionKind, number>> = {};
  for (const n of received.notifications) byStatus[n.status] = (byStatus[n.status] ?? 0) + 1;
  return {
    transitions,
    byRule: inRuleOrder(byKind, KINDS),
    fleetRaised,
    open: inRuleOrder(bySeverity, SEVERITIES),
    deliveries: sortedBySink(deliveries),
    receiver: {
      notifications: received.notifications.length,
      byStatus: ordered(byStatus, KINDS),
      duplicates: received.duplicates,
      badSignatures: received.badSignatures,
      malformed: received.malformed,
    },
    log: { ...alerts.log },
  };
}

/** Rules in ALERT_RULES order (then any other, by name), each with its keys in `order`. */
function inRuleOrder<K extends string>(
  byRule: ReadonlyMap<string, Partial<Record<K, number>>>,
  order: readonly K[],
): Partial<Record<string, Partial<Record<K, number>>>> {
  const known: readonly string[] = ALERT_RULES;
  const rules = [...byRule.keys()].sort(
    (a, b) => rank(known, a) - rank(known, b) || a.localeCompare(b),
  );
  return Object.fromEntries(rules.map((rule) => [rule, ordered(byRule.get(rule)!, order)]));
}

function ordered<K extends string>(
  record: Partial<Record<K, number>>,
  order: readonly K[],
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const key of order) if (record[key] !== undefined) out[key] = record[key];
  return out;
}

function sortedBySink(
  deliveries: FleetSummary['alerts']['deliveries'],
): FleetSummary['alerts']['deliveries'] {
  const sinks = Object.keys(deliveries).sort() as AlertSinkName[];
  return Object.fromEntries(sinks.map((sink) => [sink, deliveries[sink]]));
}

function rank(known: readonly string[], rule: string): number {
  const i = known.indexOf(rule);
  return i === -1 ? known.length : i;
}
