import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { auditTrailQueryFrom } from '../shared/domain/reports/AuditTrailQuery';
import { dateOrInstant, deviceFilterFrom } from '../shared/domain/reports/DeviceFilter';
import {
  REPORT_CONTENT_TYPES,
  REPORT_FORMATS,
  ReportFormat,
  jsonLinesText,
} from '../shared/domain/reports/reportText';
import { deviceIdProblem, hubNameProblem, normalizeHubName } from '../shared/domain/DeviceKey';
import { services } from '../shared/services';

/**
 * The fleet reports for auditors (function keys; shared/app/reports/FleetReports.ts):
 * - `GET /api/reports/summary`: the fleet summary (FleetSummary) as JSON;
 * - `GET /api/reports/devices[?format=json|jsonl|csv&state=&expiringBefore=&issuer=&hub=&cohort=&finding=]`:
 *   the device list, streamed;
 * - `GET /api/devices/{deviceId}/history[?hub=&from=&to=]`: one device's history;
 * - `GET /api/audit/records?from=&to=[&device=&hub=&type=]`: the audit trail as JSON Lines,
 *   streamed.
 * A query that means nothing is answered 400 with `{"error": "…"}` before anything is read.
 * Streamed bodies leave the worker as they are written only when the app turns on HTTP streams
 * (`app.setup({ enableHttpStream: true })`); otherwise the worker gathers the body first.
 */
export async function getFleetSummary(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: await services().reports.summary() };
}

export async function getDeviceReport(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const format = request.query.get('format') ?? 'json';
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    return problem(400, `format must be one of ${REPORT_FORMATS.join(', ')}`);
  const parsed = deviceFilterFrom({
    state: query(request, 'state'),
    expiringBefore: query(request, 'expiringBefore'),
    issuer: query(request, 'issuer'),
    hub: query(request, 'hub'),
    cohort: query(request, 'cohort'),
    finding: query(request, 'finding'),
  });
  if ('problem' in parsed) return problem(400, parsed.problem);
  const text = services().reports.deviceText(format as ReportFormat, parsed.filter);
  return {
    status: 200,
    headers: {
      'content-type': REPORT_CONTENT_TYPES[format as ReportFormat],
      ...(format === 'csv' ? { 'content-disposition': 'attachment; filename="devices.csv"' } : {}),
    },
    body: utf8(text),
  };
}

export async function getDeviceHistory(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const deviceId = request.params['deviceId'] ?? '';
  const hub = query(request, 'hub');
  const refused = deviceIdProblem(deviceId) ?? (hub && hubNameProblem(normalizeHubName(hub)));
  if (refused) return problem(400, refused);
  const window: { from?: string; to?: string } = {};
  for (const name of ['from', 'to'] as const) {
    const value = query(request, name);
    if (value === undefined) continue;
    const instant = dateOrInstant(value);
    if (instant === undefined) return problem(400, `${name} must be a UTC date (YYYY-MM-DD)`);
    window[name] = instant.slice(0, 10);
  }
  const lookup = await services().reports.history(deviceId, {
    ...(hub !== undefined ? { hub } : {}),
    ...window,
  });
  if ('missing' in lookup) return problem(404, `device ${deviceId} is not in the ledger`);
  if ('ambiguous' in lookup) {
    return problem(
      409,
      `device ${deviceId} exists in hubs ${lookup.ambiguous.join(', ')}: pass ?hub=`,
    );
  }
  return { status: 200, jsonBody: lookup.found };
}

export async function getAuditRecords(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const parsed = auditTrailQueryFrom({
    from: query(request, 'from'),
    to: query(request, 'to'),
    device: query(request, 'device'),
    hub: query(request, 'hub'),
    types: request.query.getAll('type'),
  });
  if ('problem' in parsed) return problem(400, parsed.problem);
  // The status is sent before the trail is read: a line that does not verify is left out and
  // logged (where, never what), as `certfleet audit show` names it on stderr.
  const entries = services().reports.trail(parsed.query, {
    onBadLine: (bad) =>
      context.warn(`audit records: ${bad.blob} line ${bad.line}: ${bad.problem} (left out)`),
  });
  return {
    status: 200,
    headers: { 'content-type': REPORT_CONTENT_TYPES.jsonl },
    body: utf8(jsonLinesText(entries)),
  };
}

/** A query parameter; an empty one (`?state=`) is no filter, as in `GET /api/alerts`. */
function query(request: HttpRequest, name: string): string | undefined {
  return request.query.get(name) || undefined;
}

async function* utf8(chunks: AsyncIterable<string>): AsyncIterable<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield encoder.encode(chunk);
}

function problem(status: number, detail: string): HttpResponseInit {
  return { status, jsonBody: { error: detail } };
}

export const reportRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getFleetSummary',
    options: {
      route: 'reports/summary',
      methods: ['GET'],
      authLevel: 'function',
      handler: getFleetSummary,
    },
  },
  {
    name: 'getDeviceReport',
    options: {
      route: 'reports/devices',
      methods: ['GET'],
      authLevel: 'function',
      handler: getDeviceReport,
    },
  },
  {
    name: 'getDeviceHistory',
    options: {
      route: 'devices/{deviceId}/history',
      methods: ['GET'],
      authLevel: 'function',
      handler: getDeviceHistory,
    },
  },
  {
    name: 'getAuditRecords',
    options: {
      route: 'audit/records',
      methods: ['GET'],
      authLevel: 'function',
      handler: getAuditRecords,
    },
  },
];

for (const route of reportRoutes) app.http(route.name, route.options);
