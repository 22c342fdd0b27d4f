import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { z } from 'zod';
import { lookUpDevice } from '../shared/app/lookUpDevice';
import { publicRecord } from '../shared/app/publicRecord';
import { deviceIdProblem, hubNameProblem, normalizeHubName } from '../shared/domain/DeviceKey';
import { DeviceRecord } from '../shared/domain/DeviceRecord';
import { plainTextProblem } from '../shared/domain/plainText';
import { describeRequester, requesterOf } from '../shared/domain/renewal/Requester';
import { services } from '../shared/services';
import { readJsonBody } from '../shared/web/jsonBody';

/**
 * certfleet's HTTP API (function keys):
 * - `GET  /api/devices/{deviceId}[?hub=H]`: the device's ledger record;
 * - `POST /api/devices/{deviceId}/renew[?hub=H]` with `{"reason": "...", "requestedBy"?: "..."}`:
 *   ask the device to renew now; audited with who asked and why.
 * What no request can mean is answered before the ledger is read: an id no device can have 400,
 * a body over the limit 413, text that would forge log or audit lines 400.
 */
type Found = { record: DeviceRecord } | { response: HttpResponseInit };

/**
 * The body of a manual renewal is a reason and a name: 16 KiB is ample. The Functions host
 * passes bodies up to 100 MB to the handler, so the handler sets its own limit.
 */
export const MAX_RENEW_BODY_BYTES = 16 * 1024;
/** The header App Service authentication sets (AZURE-FACTS.md). */
const PRINCIPAL_NAME = 'x-ms-client-principal-name';

async function findDevice(request: HttpRequest): Promise<Found> {
  const deviceId = request.params['deviceId'] ?? '';
  const hub = request.query.get('hub') || undefined;
  // No device can have such an id (the host passes a malformed % escape through as it is, or
  // as U+FFFD): the caller's mistake, not a storage error.
  const refused = deviceIdProblem(deviceId) ?? (hub && hubNameProblem(normalizeHubName(hub)));
  if (refused) return { response: problem(400, refused) };
  const lookup = await lookUpDevice(services().ledger, deviceId, hub);
  if ('found' in lookup) return { record: lookup.found };
  if ('missing' in lookup)
    return { response: problem(404, `device ${deviceId} is not in the ledger`) };
  return {
    response: problem(
      409,
      `device ${deviceId} exists in hubs ${lookup.ambiguous.join(', ')}: pass ?hub=`,
    ),
  };
}

export async function getDevice(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const found = await findDevice(request);
  if ('response' in found) return found.response;
  return { status: 200, jsonBody: publicRecord(found.record) };
}

/** Who asked and why go into log lines and the audit trail as they are: plain text only. */
function plainText(field: string) {
  return (text: string, context: z.RefinementCtx) => {
    const wrong = plainTextProblem(text);
    if (wrong)
      context.addIssue({ code: 'custom', message: `${field} must be plain text: it ${wrong}` });
  };
}

/** The body of a manual renewal; each field's message is the answer's error. */
const RenewRequestBody = z.object(
  {
    reason: z
      .string('"reason" is required: a string of at most 500 characters')
      .trim()
      .min(1, '"reason" is required: a string of at most 500 characters')
      .max(500, '"reason" is required: a string of at most 500 characters')
      .superRefine(plainText('"reason"')),
    requestedBy: z
      .string('"requestedBy" must be a string of at most 200 characters')
      .max(200, '"requestedBy" must be a string of at most 200 characters')
      .superRefine(plainText('"requestedBy"'))
      .optional(),
  },
  '"reason" is required: a string of at most 500 characters',
);

export async function renewDevice(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const body = await jsonBodyOf(request, MAX_RENEW_BODY_BYTES);
  if ('response' in body) return body.response;
  const parsed = RenewRequestBody.safeParse(body.json ?? {});
  if (!parsed.success) return problem(400, parsed.error.issues[0]?.message ?? 'invalid body');
  const { reason, requestedBy } = parsed.data;
  const principalName = request.headers.get(PRINCIPAL_NAME) ?? undefined;
  if (principalName !== undefined) {
    const wrong =
      principalName.length > 200 ? 'is over 200 characters' : plainTextProblem(principalName);
    if (wrong) return problem(400, `${PRINCIPAL_NAME} must be plain text: it ${wrong}`);
  }
  // Only App Service authentication vouches for a name; any other is the caller's claim.
  const who = describeRequester(
    requesterOf({
      easyAuthTrusted: services().settings.trustEasyAuth === true,
      principalName,
      statedName: requestedBy,
    }),
  );
  const found = await findDevice(request);
  if ('response' in found) return found.response;
  const key = { hub: found.record.hub, deviceId: found.record.deviceId };
  const result = await services().renewals.renewOnRequest(key, { who, why: reason });
  if (!('record' in result)) {
    if (result.status === 'not-found')
      return problem(404, `device ${key.deviceId} is not active in the ledger`);
    if (result.status === 'expired') {
      return problem(
        409,
        `device ${key.deviceId}'s certificate has expired: it cannot be reached and must re-provision through DPS with its onboarding credential`,
      );
    }
    return problem(409, `device ${key.deviceId} has reported no certificate to renew`);
  }
  context.log(`manual renewal of ${key.hub}/${key.deviceId} by ${who}: ${result.status}`);
  return {
    status: 202,
    jsonBody: {
      status: result.status,
      outcome: result.outcome ?? null,
      renewal: result.record.renewal ?? null,
    },
  };
}

function problem(status: number, detail: string): HttpResponseInit {
  return { status, jsonBody: { error: detail } };
}

export const deviceRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getDevice',
    options: {
      route: 'devices/{deviceId}',
      methods: ['GET'],
      authLevel: 'function',
      handler: getDevice,
    },
  },
  {
    name: 'renewDevice',
    options: {
      route: 'devices/{deviceId}/renew',
      methods: ['POST'],
      authLevel: 'function',
      handler: renewDevice,
    },
  },
];

for (const route of deviceRoutes) app.http(route.name, route.options);

/** The body as JSON (shared/web/jsonBody.ts), or the problem to answer with. */
async function jsonBodyOf(
  request: HttpRequest,
  limit: number,
): Promise<{ json: unknown } | { response: HttpResponseInit }> {
  const body = await readJsonBody(request, limit, '{"reason": "why the renewal is needed"}');
  return 'json' in body ? body : { response: problem(body.problem.status, body.problem.detail) };
}
