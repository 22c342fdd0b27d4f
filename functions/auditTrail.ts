import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  TimerFunctionOptions,
} from '@azure/functions';
import { CheckpointReport } from '../shared/app/audit/TakeCheckpoint';
import { dateRangeFrom } from '../shared/domain/audit/dateRange';
import { services } from '../shared/services';

/**
 * The audit trail's proof (docs/auditing.md): every hour at :05 the `auditCheckpoint` timer
 * takes a signed checkpoint (the one after midnight UTC lists every date); `GET
 * /api/audit/verify?from=YYYY-MM-DD&to=YYYY-MM-DD` (function key) verifies those dates against
 * the checkpoints and answers the report (`ok` false: tampering or loss, each problem located).
 */
const NOT_CONFIGURED =
  'audit checkpoints are not configured: set CERTFLEET_CHECKPOINT_KEY_ID (a Key Vault key) or CERTFLEET_CHECKPOINT_KEY_FILE';
/** An HTTP call must answer within the host's timeout: a quarter at a time. */
const MAX_VERIFY_DAYS = 92;

export async function verifyAuditTrail(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const s = services();
  if (!s.verifyTrail) return { status: 503, jsonBody: { error: NOT_CONFIGURED } };
  const parsed = dateRangeFrom(
    {
      from: request.query.get('from') ?? undefined,
      to: request.query.get('to') ?? undefined,
    },
    s.verifyTrail.today(),
    MAX_VERIFY_DAYS,
  );
  if ('problem' in parsed) return { status: 400, jsonBody: { error: parsed.problem } };
  return { status: 200, jsonBody: await s.verifyTrail.run(parsed.range) };
}

export async function takeAuditCheckpoint(
  _timer: Timer,
  context: InvocationContext,
): Promise<CheckpointReport | undefined> {
  const s = services();
  if (!s.checkpoints) {
    context.warn(`${NOT_CONFIGURED}; no checkpoint taken`);
    return undefined;
  }
  return s.checkpoints.runScheduled();
}

export const auditTrailRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'verifyAuditTrail',
    options: {
      route: 'audit/verify',
      methods: ['GET'],
      authLevel: 'function',
      handler: verifyAuditTrail,
    },
  },
];

export const auditCheckpointTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'auditCheckpoint',
  options: {
    schedule: '0 5 * * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await takeAuditCheckpoint(timer, context);
    },
  },
};

for (const route of auditTrailRoutes) app.http(route.name, route.options);
app.timer(auditCheckpointTrigger.name, auditCheckpointTrigger.options);
