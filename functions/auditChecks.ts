import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  TimerFunctionOptions,
} from '@azure/functions';
import { FleetAuditReport } from '../shared/app/audit/RunFleetAudit';
import { services } from '../shared/services';

/**
 * The fleet audit checks (docs/auditing.md): `GET /api/audit/checks` (function key) runs them now
 * and answers the report; daily at 06:00 UTC the timer runs them and, when anything is found,
 * logs one `CERTFLEET_AUDIT_FINDINGS {json}` error line with the counts per check, for an
 * Azure Monitor alert.
 */
export const AUDIT_FINDINGS_PREFIX = 'CERTFLEET_AUDIT_FINDINGS';

export async function getAuditChecks(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: await services().fleetAudit.run() };
}

export async function runDailyAuditChecks(
  _timer: Timer,
  context: InvocationContext,
): Promise<FleetAuditReport> {
  const report = await services().fleetAudit.runAndAlert();
  const found = report.findings.length;
  if (found > 0) {
    context.error(
      `${AUDIT_FINDINGS_PREFIX} ${JSON.stringify({ at: report.at, devicesChecked: report.devicesChecked, findings: found, counts: report.counts })}`,
    );
  } else {
    context.log(`fleet audit at ${report.at}: ${report.devicesChecked} devices, nothing found`);
  }
  return report;
}

export const auditRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getAuditChecks',
    options: {
      route: 'audit/checks',
      methods: ['GET'],
      authLevel: 'function',
      handler: getAuditChecks,
    },
  },
];

export const auditChecksTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'fleetAuditChecks',
  options: {
    schedule: '0 0 6 * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runDailyAuditChecks(timer, context);
    },
  },
};

for (const route of auditRoutes) app.http(route.name, route.options);
app.timer(auditChecksTrigger.name, auditChecksTrigger.options);
