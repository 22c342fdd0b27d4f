import { createHash } from 'node:crypto';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { AlertState, AlertTransition } from '../../domain/alerts/AlertState';
import { KnownCa, fleetRiskConditions } from '../../domain/alerts/fleetRiskConditions';
import { nextAlertStates } from '../../domain/alerts/nextAlertStates';
import { Clock, DAY_MS, isoUtc } from '../../domain/Clock';
import { forecastDemand } from '../../domain/renewal/forecast';
import { AlertNotification, AlertStore, CertificateLedger } from '../ports';
import { AlertRelay } from './AlertRelay';

export interface ReviewFleetDependencies {
  ledger: CertificateLedger;
  store: AlertStore;
  relay: AlertRelay;
  clock: Clock;
  settings: AlertSettings;
  /** The paced rate, to forecast against. */
  renewalsPerMinute: number;
  /** The trust bundle's CAs. */
  cas: readonly KnownCa[];
}

export interface FleetReview {
  at: string;
  /** Fleet-risk alerts raised, escalated or resolved. */
  transitions: AlertTransition[];
  /** The digest queued for every sink. */
  digest: AlertNotification;
}

const RISK_RULES = new Set(['ca-expiring', 'renewal-capacity']);

/**
 * Use case, once a day: the fleet-risk rules (a trust-bundle CA near its end, days ahead over
 * renewal capacity: shared/domain/alerts/fleetRiskConditions.ts), moved on like any alert; then
 * a digest of what is open, queued for every sink. The forecast reads the renewal index for the
 * days ahead (what is due, not the fleet); the digest reads the open alerts.
 */
export class ReviewFleet {
  constructor(private readonly deps: ReviewFleetDependencies) {}

  async review(): Promise<FleetReview> {
    const { store, settings } = this.deps;
    const now = isoUtc(this.deps.clock.now());
    const entries = [];
    const until = new Date(Date.parse(now) + settings.forecastDays * DAY_MS).toISOString();
    for await (const entry of this.deps.ledger.actionsDueBefore(until)) entries.push(entry);
    const forecast = forecastDemand(
      entries,
      now,
      settings.forecastDays,
      this.deps.renewalsPerMinute,
    );
    const conditions = fleetRiskConditions({ cas: this.deps.cas, forecast, now, settings });

    const open: AlertState[] = [];
    for await (const state of store.listOpen()) open.push(state);
    const previous = open.filter((s) => s.scope === 'fleet' && RISK_RULES.has(s.rule));
    const { transitions } = nextAlertStates(previous, conditions, now);
    await this.deps.relay.acceptFleet(transitions, now);

    const stillOpen: AlertState[] = [];
    for await (const state of store.listOpen()) stillOpen.push(state);
    const digest = digestOf(stillOpen, now);
    await this.deps.relay.queue(digest);
    return { at: now, transitions, digest };
  }
}

/**
 * The daily digest: how many alerts are open, by severity and rule, the fleet alerts by name.
 * Sent even when nothing is open, so a quiet channel is known to work. Its id is the day's: a
 * review run twice in a day queues it once.
 */
export function digestOf(open: readonly AlertState[], now: string): AlertNotification {
  const day = now.slice(0, 10);
  const id = createHash('sha256').update(`certfleet digest ${day}`).digest('hex').slice(0, 32);
  // Device alerts that a fleet alert speaks for are counted once, in it.
  const fleet = open.filter((s) => s.scope === 'fleet');
  const critical = open.filter((s) => s.severity === 'critical').length;
  const byRule = new Map<string, number>();
  for (const s of open) byRule.set(s.rule, (byRule.get(s.rule) ?? 0) + 1);
  const rules = [...byRule]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  const summary =
    open.length === 0
      ? `certfleet daily digest for ${day}: no open alerts.`
      : `certfleet daily digest for ${day}: ${open.length} open alerts (${critical} critical, ${open.length - critical} warning): ${rules}.` +
        (fleet.length > 0 ? ` Fleet alerts: ${fleet.map((f) => f.summary).join(' ')}` : '');
  return {
    id,
    alertId: id,
    rule: 'digest',
    severity: critical > 0 ? 'critical' : 'warning',
    status: 'raised',
    scope: 'fleet',
    summary,
    raisedAt: now,
    at: now,
    count: open.length,
  };
}
