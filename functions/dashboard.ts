import {
  app,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { services } from '../shared/services';
import { chartJsAsset } from '../shared/web/chartJsAsset';
import { dashboardApiBase, dashboardHeaders, renderDashboard } from '../shared/web/dashboardPage';

/**
 * The fleet dashboard for auditors and ops:
 * - `GET /api/dashboard` (function key): one HTML page, the fleet summary, the expiry
 *   histogram, renewal outcomes, open alerts and the devices needing attention, each linking to
 *   its history (shared/app/dashboard/DashboardData.ts, shared/web/dashboardPage.ts);
 * - `GET /api/dashboard/chart.js` (anonymous): Chart.js, served from the app's own
 *   node_modules. It is a published library and holds no fleet data, so it needs no key, and
 *   its URL carries the version, so browsers keep it for a year.
 */

/**
 * A function key as Azure writes them (base64 or base64url, 40 to 100 characters); anything else
 * in `code` is not carried into the page's links.
 */
const FUNCTION_KEY = /^[A-Za-z0-9_\-+/=]{1,256}$/;

export async function getDashboard(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const apiBase = dashboardApiBase(new URL(request.url).pathname);
  const code = request.query.get('code') ?? '';
  const view = await services().dashboard.view();
  const version = encodeURIComponent(chartJsAsset().version);
  const html = renderDashboard(view, {
    apiBase,
    ...(FUNCTION_KEY.test(code) ? { code } : {}),
    chartScriptUrl: `${apiBase}dashboard/chart.js?v=${version}`,
  });
  return { status: 200, headers: dashboardHeaders(), body: html };
}

export async function getChartJs(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return {
    status: 200,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    },
    body: chartJsAsset().source,
  };
}

export const dashboardRoutes: { name: string; options: HttpFunctionOptions }[] = [
  {
    name: 'getDashboard',
    options: { route: 'dashboard', methods: ['GET'], authLevel: 'function', handler: getDashboard },
  },
  {
    name: 'getDashboardChartJs',
    options: {
      route: 'dashboard/chart.js',
      methods: ['GET'],
      authLevel: 'anonymous',
      handler: getChartJs,
    },
  },
];

for (const route of dashboardRoutes) app.http(route.name, route.options);
