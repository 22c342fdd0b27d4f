import './installFunctionsRuntimeApi'; // first: the functions/ modules register as they load
import { HttpFunctionOptions } from '@azure/functions';
import { alertDeliveryTrigger, alertRoutes, fleetReviewTrigger } from '../../functions/alerts';
import { auditChecksTrigger, auditRoutes } from '../../functions/auditChecks';
import { dashboardRoutes } from '../../functions/dashboard';
import { auditCheckpointTrigger, auditTrailRoutes } from '../../functions/auditTrail';
import { dailyReportTrigger, pointInTimeRoutes } from '../../functions/pointInTimeReports';
import { deviceRoutes } from '../../functions/devices';
import { healthRoutes } from '../../functions/health';
import { iotHubEventsTrigger } from '../../functions/iotHubEvents';
import { reconcileTwinsTrigger } from '../../functions/reconcileTwins';
import { reportRoutes } from '../../functions/reports';
import { renewalSweepTrigger } from '../../functions/renewalSweep';
import { rotationRoutes, rotationWorkTrigger } from '../../functions/rotations';

/**
 * Every trigger definition the Function app registers, as the local host sees them: the very
 * objects functions/*.ts pass to `app.http/timer/eventHub`, so routes and schedules have one
 * source of truth (a test checks that nothing registered is missing here).
 */
export const httpTriggers: readonly { name: string; options: HttpFunctionOptions }[] = [
  ...deviceRoutes,
  ...alertRoutes,
  ...auditRoutes,
  ...auditTrailRoutes,
  ...reportRoutes,
  ...pointInTimeRoutes,
  ...dashboardRoutes,
  ...rotationRoutes,
  ...healthRoutes,
];
export const timerTriggers = [
  renewalSweepTrigger,
  reconcileTwinsTrigger,
  alertDeliveryTrigger,
  fleetReviewTrigger,
  auditChecksTrigger,
  auditCheckpointTrigger,
  dailyReportTrigger,
  rotationWorkTrigger,
] as const;
export const eventHubTriggers = [iotHubEventsTrigger] as const;
