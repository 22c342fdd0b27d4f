import './installFunctionsRuntimeApi'; // first: the functions/ modules register as they load
import { HttpFunctionOptions } from '@azure/functions';
import { alertDeliveryTrigger, alertRoutes, fleetReviewTrigger } from '../../functions/alerts';
import { auditChecksTrigger, auditRoutes } from '../../functions/auditChecks';
import { deviceRoutes } from '../../functions/devices';
import { iotHubEventsTrigger } from '../../functions/iotHubEvents';
import { reconcileTwinsTrigger } from '../../functions/reconcileTwins';
import { renewalSweepTrigger } from '../../functions/renewalSweep';

/**
 * Every trigger definition the Function app registers, as the local host sees them: the very
 * objects functions/*.ts pass to `app.http/timer/eventHub`, so routes and schedules have one
 * source of truth (a test checks that nothing registered is missing here).
 */
export const httpTriggers: readonly { name: string; options: HttpFunctionOptions }[] = [
  ...deviceRoutes,
  ...alertRoutes,
  ...auditRoutes,
];
export const timerTriggers = [
  renewalSweepTrigger,
  reconcileTwinsTrigger,
  alertDeliveryTrigger,
  fleetReviewTrigger,
  auditChecksTrigger,
] as const;
export const eventHubTriggers = [iotHubEventsTrigger] as const;
