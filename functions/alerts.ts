import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  TimerFunctionOptions,
} from '@azure/functions';
import { DeliveryReport } from '../shared/app/alerts/DeliverAlerts';
import { FleetReview } from '../shared/app/alerts/ReviewFleet';
import { alertFilterFrom, listAlerts } from '../shared/app/alerts/listAlerts';
import { describeDelivery } from '../shared/app/describeReports';
import { services } from '../shared/services';

/**
 * `GET /api/alerts[?severity=&rule=&scope=&hub=]` (function key): the open alerts, critical
 * first. Every minute: the notification outbox is worked through (shared/app/alerts/
 * DeliverAlerts.ts); a run that fails is the next minute's to do, and nothing is lost. Daily:
 * the fleet-risk rules and the digest (shared/app/alerts/ReviewFleet.ts).
 */
export async function getAlerts(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = (name: string) => request.query.get(name) ?? undefined;
  const parsed = alertFilterFrom({
    severity: query('severity'),
    rule: query('rule'),
    scope: query('scope'),
    hub: query('hub'),
  });
  if ('problem' in parsed) return { status: 400, jsonBody: { error: parsed.problem } };
  const alerts = await listAlerts(services().alertStore, parsed.filter);
  return { status: 200, jsonBody: { count: alerts.length, alerts } };
}

export async function runAlertDelivery(
  _timer: Timer,
  context: InvocationContext,
): Promise<DeliveryReport> {
  const report = await services().alerts.deliver();
  context.log(describeDelivery(report));
  return report;
}

export async function runFleetReview(
  _timer: Timer,
  context: InvocationContext,
): Promise<FleetReview> {
  const review = await services().fleetReview.review();
  context.log(
    `fleet review at ${review.at}: ${review.transitions.length} fleet-risk alert transitions; digest: ${review.digest.summary}`,
  );
  return review;
}

export const alertRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getAlerts',
    options: { route: 'alerts', methods: ['GET'], authLevel: 'function', handler: getAlerts },
  },
];

export const alertDeliveryTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'alertDelivery',
  options: {
    schedule: '30 */1 * * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runAlertDelivery(timer, context);
    },
  },
};

/** Once a day, 07:00 UTC: the fleet-risk rules and the digest, before Europe's working day. */
export const fleetReviewTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'fleetReview',
  options: {
    schedule: '0 0 7 * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runFleetReview(timer, context);
    },
  },
};

for (const route of alertRoutes) app.http(route.name, route.options);
app.timer(alertDeliveryTrigger.name, alertDeliveryTrigger.options);
app.timer(fleetReviewTrigger.name, fleetReviewTrigger.options);
