import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { statusOnly } from '../shared/app/health/CheckHealth';
import { SettingsError } from '../shared/config/SettingsError';
import { HealthReport, HealthStatus } from '../shared/domain/health/HealthReport';
import { services } from '../shared/services';

/**
 * certfleet's health (shared/app/health/CheckHealth.ts): whether the fleet storage answers,
 * whether the Event Hubs trigger keeps up on each partition, whether each IoT hub answers.
 *
 * - `GET /api/health`, anonymous, for load balancers and uptime probes: `{"status": "healthy" |
 *   "degraded" | "unhealthy"}` and nothing else (no part, hub, error or version is named), 200
 *   unless unhealthy, then 503;
 * - `GET /api/health/details`, function key: the whole report, with the same status code.
 *
 * Both answer from a report at most 30 s old, and are never cached on the way.
 */
const NO_STORE = { 'cache-control': 'no-store' };

export async function getHealth(
  _request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  try {
    const report = await services().health.check();
    return answer(report.status, statusOnly(report));
  } catch (error) {
    // Services that cannot be built (a setting no longer valid): nothing works. Said to the
    // log, where operators look, never to an anonymous caller.
    context.error(`health check failed: ${describe(error)}`);
    return answer('unhealthy', { status: 'unhealthy' });
  }
}

export async function getHealthDetails(
  _request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  let report: HealthReport;
  try {
    report = await services().health.check();
  } catch (error) {
    context.error(`health check failed: ${describe(error)}`);
    return answer('unhealthy', { status: 'unhealthy', problem: describe(error) });
  }
  return answer(report.status, report);
}

function answer(status: HealthStatus, body: object): HttpResponseInit {
  return { status: status === 'unhealthy' ? 503 : 200, headers: NO_STORE, jsonBody: body };
}

/** A settings problem names its settings and never their values; anything else, only its kind. */
function describe(error: unknown): string {
  if (error instanceof SettingsError) return `settings: ${error.problems.join('; ')}`;
  const name = (error as { name?: unknown } | undefined)?.name;
  return `unexpected ${typeof name === 'string' && /^\w{1,60}$/.test(name) ? name : 'error'}`;
}

export const healthRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'health',
    options: { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: getHealth },
  },
  {
    name: 'healthDetails',
    options: {
      route: 'health/details',
      methods: ['GET'],
      authLevel: 'function',
      handler: getHealthDetails,
    },
  },
];

for (const route of healthRoutes) app.http(route.name, route.options);
