import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  TimerFunctionOptions,
} from '@azure/functions';
import { RotationWorkReport } from '../shared/app/rotation/PlanRotation';
import { describeRotationWork, rotationView } from '../shared/app/rotation/RotationStatus';
import { plainTextProblem } from '../shared/domain/plainText';
import { describeRequester, requesterOf } from '../shared/domain/renewal/Requester';
import { isRotationId } from '../shared/domain/rotation/Rotation';
import { services } from '../shared/services';
import { readJsonBody } from '../shared/web/jsonBody';

/**
 * Planned CA rotations (function keys; docs/renewal.md, "Planned rotations"):
 * - `POST /api/rotations` with `{"issuer": DN, "completeBy": ISO 8601, "why": "...",
 *   "declaredBy"?: "..."}`: declares one; 201 with its status, 400 for bad input (one sentence
 *   naming the field), 409 when the issuer has an open rotation already;
 * - `GET /api/rotations`: every rotation, the latest first;
 * - `GET /api/rotations/{id}`: one rotation's status: plan, progress, forecast, devices at risk.
 * Every 5 minutes, the rotations' work goes on through the ledger (shared/app/rotation/
 * PlanRotation.ts): each run continues where the last stopped.
 *
 * Who declared is recorded as the manual renewal records who asked (shared/domain/renewal/
 * Requester.ts): the App Service principal when Easy Auth vouches for it, else a claim.
 */
export const MAX_ROTATION_BODY_BYTES = 16 * 1024;
const PRINCIPAL_NAME = 'x-ms-client-principal-name';

export async function declareRotation(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const body = await jsonBodyOf(request, MAX_ROTATION_BODY_BYTES);
  if ('response' in body) return body.response;
  const json = body.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return problem(400, 'the body must be a JSON object: {"issuer", "completeBy", "why"}');
  const fields = json as Record<string, unknown>;
  const principalName = request.headers.get(PRINCIPAL_NAME) ?? undefined;
  const stated = fields['declaredBy'];
  if (stated !== undefined && (typeof stated !== 'string' || stated.length > 200))
    return problem(400, '"declaredBy" must be a string of at most 200 characters');
  for (const [name, value] of [
    [PRINCIPAL_NAME, principalName],
    ['"declaredBy"', stated],
  ] as const) {
    const wrong = typeof value === 'string' ? plainTextProblem(value) : undefined;
    if (wrong) return problem(400, `${name} must be plain text: it ${wrong}`);
  }
  const who = describeRequester(
    requesterOf({
      easyAuthTrusted: services().settings.trustEasyAuth === true,
      ...(principalName !== undefined ? { principalName } : {}),
      ...(typeof stated === 'string' ? { statedName: stated } : {}),
    }),
  );
  const result = await services().rotations.declare({
    issuer: fields['issuer'],
    completeBy: fields['completeBy'],
    why: fields['why'],
    who,
  });
  if ('refused' in result)
    return problem(result.refused === 'conflict' ? 409 : 400, result.problem);
  context.log(
    `rotation ${result.rotation.id} declared by ${who}: away from ${result.rotation.issuer} by ${result.rotation.completeBy}`,
  );
  return { status: 201, jsonBody: rotationView(result.rotation, now()) };
}

export async function listRotations(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const rotations = await services().rotations.list();
  const at = now();
  return {
    status: 200,
    jsonBody: { count: rotations.length, rotations: rotations.map((r) => rotationView(r, at)) },
  };
}

export async function getRotation(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  if (!isRotationId(id))
    return problem(400, 'a rotation id looks like rot-20261123-1a2b3c4d (certfleet rotation list)');
  const rotation = await services().rotations.get(id);
  if (!rotation) return problem(404, `no rotation ${id}`);
  return { status: 200, jsonBody: rotationView(rotation, now()) };
}

export async function runRotationWork(
  _timer: Timer,
  context: InvocationContext,
): Promise<RotationWorkReport> {
  const report = await services().rotations.work();
  context.log(describeRotationWork(report));
  return report;
}

function now(): string {
  return services().rotations.now();
}

function problem(status: number, detail: string): HttpResponseInit {
  return { status, jsonBody: { error: detail } };
}

export const rotationRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'declareRotation',
    options: {
      route: 'rotations',
      methods: ['POST'],
      authLevel: 'function',
      handler: declareRotation,
    },
  },
  {
    name: 'listRotations',
    options: {
      route: 'rotations',
      methods: ['GET'],
      authLevel: 'function',
      handler: listRotations,
    },
  },
  {
    name: 'getRotation',
    options: {
      route: 'rotations/{id}',
      methods: ['GET'],
      authLevel: 'function',
      handler: getRotation,
    },
  },
];

/** Every 5 minutes: the rotations' passes over the ledger go on (4 minutes of work a run). */
export const rotationWorkTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'rotationWork',
  options: {
    schedule: '0 */5 * * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runRotationWork(timer, context);
    },
  },
};

for (const route of rotationRoutes) app.http(route.name, route.options);
app.timer(rotationWorkTrigger.name, rotationWorkTrigger.options);

/** The body as JSON (shared/web/jsonBody.ts), or the problem to answer with. */
async function jsonBodyOf(
  request: HttpRequest,
  limit: number,
): Promise<{ json: unknown } | { response: HttpResponseInit }> {
  const body = await readJsonBody(
    request,
    limit,
    '{"issuer": "CN=…", "completeBy": "2027-03-01T00:00:00Z", "why": "…"}',
  );
  return 'json' in body ? body : { response: problem(body.problem.status, body.problem.detail) };
}
