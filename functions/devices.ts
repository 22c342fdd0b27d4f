import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { publicRecord } from '../shared/cli/formatDevice';
import { normalizeHubName } from '../shared/domain/DeviceKey';
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
  const hub = request.query.get('hub');
  const { ledger } = services();
  const records = hub
    ? [(await ledger.read({ hub: normalizeHubName(hub), deviceId }))?.value].filter(
        (r): r is DeviceRecord => !!r,
      )
    : await ledger.findByDeviceId(deviceId);
  if (records.length === 0)
    return { response: problem(404, `device ${deviceId} is not in the ledger`) };
  if (records.length > 1) {
    return {
      response: problem(
        409,
        `device ${deviceId} exists in hubs ${records.map((r) => r.hub).join(', ')}: pass ?hub=`,
      ),
    };
  }
  return { record: records[0]! };
}

export async function getDevice(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const found = await findDevice(request);
  if ('response' in found) return found.response;
  return { status: 200, jsonBody: publicRecord(found.record) };
}

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
  const reason = (body as { reason?: unknown } | null)?.reason;
  const requestedByField = (body as { requestedBy?: unknown } | null)?.requestedBy;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    return problem(400, '"reason" is required: a string of at most 500 characters');
  }
  if (
    requestedByField !== undefined &&
    (typeof requestedByField !== 'string' || requestedByField.length > 200)
  ) {
    return problem(400, '"requestedBy" must be a string of at most 200 characters');
  }
  // App Service authentication names the caller; else what the caller says, else the key holder.
  const who =
    request.headers.get('x-ms-client-principal-name') ??
    (typeof requestedByField === 'string' && requestedByField.trim()
      ? requestedByField.trim()
      : 'function key holder');
  const found = await findDevice(request);
  if ('response' in found) return found.response;
  const key = { hub: found.record.hub, deviceId: found.record.deviceId };
  const result = await services().renewals.renewOnRequest(key, { who, why: reason.trim() });
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
