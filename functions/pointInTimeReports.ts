import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  TimerFunctionOptions,
} from '@azure/functions';
import {
  DailyReportResult,
  REPORT_FILES,
  ReportFile,
} from '../shared/app/reports/PointInTimeReports';
import { ReportChanged } from '../shared/app/ports';
import { dateRangeFrom } from '../shared/domain/audit/dateRange';
import { services } from '../shared/services';

/**
 * The fleet as it stood on a past day (docs/auditing.md): at 00:15 UTC the `dailyReport` timer
 * writes the day that ended to `reports/YYYY-MM-DD/` in Blob Storage (summary, devices, audit
 * findings) and audits each file's SHA-256. `GET /api/reports/archive/{date}/{file}` (function
 * key; file: summary, devices or findings) answers a day's file once it has checked it against
 * that record: 404 when the day has none, 409 when the file is not the one recorded.
 */
export async function getArchivedReport(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const date = request.params['date'] ?? '';
  const file = request.params['file'] ?? '';
  const parsed = dateRangeFrom({ from: date }, date);
  if ('problem' in parsed) return problem(400, `date must be a UTC date, YYYY-MM-DD`);
  if (!Object.hasOwn(REPORT_FILES, file))
    return problem(400, `file must be one of ${Object.keys(REPORT_FILES).join(', ')}`);
  const reports = services().pointInTime;
  // Checked first, then sent: a file that is not the one recorded is never served as if it were,
  // and what is sent is the version checked (If-Match on its ETag).
  const checked = await reports.read(date, file as ReportFile);
  if (!checked.found)
    return problem(
      404,
      checked.missing
        ? `${checked.missing} is gone: the audit trail records it`
        : `no ${file} report for ${date}`,
    );
  for await (const _chunk of checked.content);
  const check = checked.check();
  if (!check.ok) return problem(409, check.problem);
  let sent;
  try {
    sent = await reports.read(
      date,
      file as ReportFile,
      checked.etag ? { ifMatch: checked.etag } : {},
    );
  } catch (error) {
    if (error instanceof ReportChanged) return problem(409, error.message);
    throw error;
  }
  if (!sent.found) return problem(404, `no ${file} report for ${date}`);
  const { name, contentType } = REPORT_FILES[file as ReportFile];
  return {
    status: 200,
    headers: {
      'content-type': contentType,
      'content-disposition': `attachment; filename="${date}-${name}"`,
      'x-certfleet-recorded-at': check.recordedAt,
    },
    body: sent.content,
  };
}

export async function writeDailyReport(
  _timer: Timer,
  context: InvocationContext,
): Promise<DailyReportResult> {
  const result = await services().pointInTime.writeScheduled();
  context.log(
    `daily report for ${result.date}: ` +
      result.files
        .map((f) => `${f.name} ${f.bytes} bytes${f.existed ? ' (there already)' : ''}`)
        .join(', '),
  );
  return result;
}

function problem(status: number, detail: string): HttpResponseInit {
  return { status, jsonBody: { error: detail } };
}

export const pointInTimeRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getArchivedReport',
    options: {
      route: 'reports/archive/{date}/{file}',
      methods: ['GET'],
      authLevel: 'function',
      handler: getArchivedReport,
    },
  },
];

export const dailyReportTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'dailyReport',
  options: {
    schedule: '0 15 0 * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await writeDailyReport(timer, context);
    },
  },
};

for (const route of pointInTimeRoutes) app.http(route.name, route.options);
app.timer(dailyReportTrigger.name, dailyReportTrigger.options);
