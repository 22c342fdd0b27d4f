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
import { DeviceRecord } from '../shared/domain/DeviceRecord';
import { services } from '../shared/services';

/**
 * certfleet's HTTP API (function keys):
 * - `GET  /api/devices/{deviceId}[?hub=H]`: the device's ledger record;
 * - `POST /api/devices/{deviceId}/renew[?hub=H]` with `{"reason": "...", "requestedBy"?: "..."}`:
 *   ask the device to renew now; audited with who asked and why.
 */
type Found = { record: DeviceRecord } | { response: HttpResponseInit };

async function findDevice(request: HttpRequest): Promise<Found> {
  const deviceId = request.params['deviceId'] ?? '';
  const lookup = await lookUpDevice(
    services().ledger,
    deviceId,
    request.query.get('hub') ?? undefined,
  );
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

/** The body of a manual renewal; each field's message is the answer's error. */
const RenewRequestBody = z.object(
  {
    reason: z
      .string('"reason" is required: a string of at most 500 characters')
      .trim()
      .min(1, '"reason" is required: a string of at most 500 characters')
      .max(500, '"reason" is required: a string of at most 500 characters'),
    requestedBy: z
      .string('"requestedBy" must be a string of at most 200 characters')
      .max(200, '"requestedBy" must be a string of at most 200 characters')
      .optional(),
  },
  '"reason" is required: a string of at most 500 characters',
);

export async function renewDevice(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return problem(400, 'the body must be JSON: {"reason": "why the renewal is needed"}');
  }
  const parsed = RenewRequestBody.safeParse(body ?? {});
  if (!parsed.success) return problem(400, parsed.error.issues[0]?.message ?? 'invalid body');
  const { reason, requestedBy } = parsed.data;
  // App Service authentication names the caller; else what the caller says, else the key holder.
  const who =
    request.headers.get('x-ms-client-principal-name') ??
    (requestedBy?.trim() ? requestedBy.trim() : 'function key holder');
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
