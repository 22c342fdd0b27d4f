import { Incident, IncidentKind } from '../renewal/Pacing';
import { AlertRule, AlertSeverity } from './AlertRule';
import { AlertCondition } from './AlertCondition';
import { AlertTransition, alertId, transitionId } from './AlertState';

/**
 * Fleet-wide trouble that pauses renewals, as fleet alerts: a hub throttling certfleet's calls
 * (`renewals-throttled`, a warning: the pause ends by itself), many devices failing at once
 * (`issuer-outage`, critical: the issuing CA or DPS is likely down), IoT Hub answering with
 * service errors (`service-error`, critical). Each incident the renewal engine opens raises one,
 * and its resolution resolves it: the incident's own lifecycle, so no state of its own.
 */
const INCIDENT_RULES: Record<
  IncidentKind,
  { rule: AlertRule; severity: AlertSeverity; what: string }
> = {
  'hub-throttled': {
    rule: 'renewals-throttled',
    severity: 'warning',
    what: 'IoT Hub is throttling renewal requests; renewals to this hub are paused and resume by themselves',
  },
  'failure-spike': {
    rule: 'issuer-outage',
    severity: 'critical',
    what: 'renewals are failing across the fleet (an issuing CA or DPS outage?); all renewals are paused',
  },
  'service-error': {
    rule: 'service-error',
    severity: 'critical',
    what: 'IoT Hub answers renewal requests with service errors; all renewals are paused',
  },
};

export function incidentTransitions(
  opened: readonly Incident[],
  resolved: readonly Incident[],
  now: string,
): AlertTransition[] {
  const transition = (incident: Incident, kind: 'raised' | 'resolved'): AlertTransition => {
    const { rule, severity, what } = INCIDENT_RULES[incident.kind];
    const condition: AlertCondition = {
      rule,
      severity,
      scope: 'fleet',
      subject: `incident ${incident.id}`,
      summary: `${incident.hub ? `Hub ${incident.hub}: ` : 'Fleet: '}${what} (${incident.detail}).`,
      cause: `incident=${incident.kind};hub=${incident.hub ?? ''}`,
    };
    const id = alertId(condition, incident.openedAt);
    return {
      ...condition,
      id: transitionId(id, kind, severity),
      alertId: id,
      kind,
      at: kind === 'raised' ? incident.openedAt : now,
      episodeStartedAt: incident.openedAt,
    };
  };
  return [
    ...opened.map((i) => transition(i, 'raised')),
    ...resolved.map((i) => transition(i, 'resolved')),
  ];
}
