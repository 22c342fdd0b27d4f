import { AlertTransition } from '../../domain/alerts/AlertState';
import { AlertNotification } from '../ports';

/** What sinks are told of an alert transition: certfleet's own fields and sentence. */
export function notificationOf(t: AlertTransition): AlertNotification {
  const n: AlertNotification = {
    id: t.id,
    alertId: t.alertId,
    rule: t.rule,
    severity: t.severity,
    status: t.kind,
    scope: t.scope,
    summary: t.summary,
    raisedAt: t.episodeStartedAt,
    at: t.at,
  };
  if (t.hub !== undefined) n.hub = t.hub;
  if (t.deviceId !== undefined) n.deviceId = t.deviceId;
  if (t.validUntil !== undefined) n.validUntil = t.validUntil;
  if (t.count !== undefined) n.count = t.count;
  if (t.sample !== undefined) n.sample = [...t.sample];
  return n;
}
