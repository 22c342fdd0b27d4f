import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getHealth, getHealthDetails, healthRoutes } from '../../functions/health';
import { CheckHealth } from '../../shared/app/health/CheckHealth';
import { ProbeFailed } from '../../shared/app/ports';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { buildServices, useServices } from '../../shared/services';

/**
 * The health functions as the Functions host calls them (test mode), over a health check whose
 * ports are doubles: what an anonymous caller is told (the status alone), what a function key
 * holder is told (the report), the status codes, and no caching on the way.
 */
const NOW = '2026-11-23T12:00:00.000Z';
const SECRET = 'SharedAccessKey=bm90IGEgcmVhbCBrZXkgYnV0IGl0IG11c3Qgbm90IGxlYWs=';

let logged: string[];
const context = () =>
  new InvocationContext({
    functionName: 'health',
    invocationId: 'test',
    logHandler: (_level, ...args) => logged.push(args.map(String).join(' ')),
  });
const request = (path: string) =>
  new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/${path}` });

/** Services whose health check finds storage and two hubs as the test says. */
function useHealth(parts: { storage?: Error; hubB?: Error }): void {
  const health = new CheckHealth({
    storage: {
      probe: async () => {
        if (parts.storage) throw parts.storage;
      },
    },
    hubs: {
      hubs: ['contoso-hub-a', 'contoso-hub-b'],
      connectedDevices: async (hub) => {
        if (hub === 'contoso-hub-b' && parts.hubB) throw parts.hubB;
        return 12;
      },
    },
    clock: new ManualClock(NOW),
  });
  useServices({ ...buildServices(loadSettings({}), new ManualClock(NOW)), health });
}

function bodyOf(response: HttpResponseInit): unknown {
  return response.jsonBody;
}

beforeEach(() => {
  logged = [];
});
afterEach(() => useServices(undefined));

describe('GET /api/health (anonymous)', () => {
  it('answers 200 and the status alone when everything answers, not to be cached', async () => {
    useHealth({});

    const response = await getHealth(request('health'), context());

    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
    expect(bodyOf(response)).toStrictEqual({ status: 'healthy' });
  });

  it('answers 200 degraded naming no hub and no error', async () => {
    useHealth({ hubB: new ProbeFailed('401 IotHubUnauthorizedAccess') });

    const response = await getHealth(request('health'), context());

    expect(response.status).toBe(200);
    expect(bodyOf(response)).toStrictEqual({ status: 'degraded' });
    expect(JSON.stringify(response)).not.toMatch(/contoso|401|Unauthorized/);
  });

  it('answers 503 unhealthy when storage does not answer, and nothing more', async () => {
    useHealth({ storage: new ProbeFailed('table: 403 AuthorizationPermissionMismatch') });

    const response = await getHealth(request('health'), context());

    expect(response.status).toBe(503);
    expect(bodyOf(response)).toStrictEqual({ status: 'unhealthy' });
  });

  it('answers 503 unhealthy when certfleet cannot start, telling the log and not the caller why', async () => {
    useServices(undefined);
    const saved = process.env.CERTFLEET_AUDIT_SHARDS;
    process.env.CERTFLEET_AUDIT_SHARDS = '0';
    try {
      const response = await getHealth(request('health'), context());

      expect(response.status).toBe(503);
      expect(bodyOf(response)).toStrictEqual({ status: 'unhealthy' });
      expect(logged.join('\n')).toMatch(/health check failed: settings: CERTFLEET_AUDIT_SHARDS/);
    } finally {
      if (saved === undefined) delete process.env.CERTFLEET_AUDIT_SHARDS;
      else process.env.CERTFLEET_AUDIT_SHARDS = saved;
      useServices(undefined);
    }
  });
});

describe('GET /api/health/details (function key)', () => {
  it('answers the whole report, with the status code the anonymous route gives', async () => {
    useHealth({ hubB: new ProbeFailed('ENOTFOUND') });

    const response = await getHealthDetails(request('health/details'), context());

    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
    expect(bodyOf(response)).toEqual({
      checkedAt: NOW,
      status: 'degraded',
      storage: { status: 'ok', latencyMs: 0 },
      eventStream: { status: 'not-configured' },
      hubs: [
        { hub: 'contoso-hub-a', status: 'ok', latencyMs: 0, connectedDevices: 12 },
        { hub: 'contoso-hub-b', status: 'unreachable', latencyMs: 0, problem: 'ENOTFOUND' },
      ],
    });
  });

  it('answers 503 with the report when storage does not answer', async () => {
    useHealth({ storage: new ProbeFailed('container: ECONNREFUSED') });

    const response = await getHealthDetails(request('health/details'), context());

    expect(response.status).toBe(503);
    expect(bodyOf(response)).toMatchObject({
      status: 'unhealthy',
      storage: { status: 'unreachable', problem: 'container: ECONNREFUSED' },
    });
  });

  it('names the settings that stop certfleet starting, never their values', async () => {
    useServices(undefined);
    const saved = process.env.FleetStorage;
    process.env.FleetStorage = SECRET;
    try {
      const response = await getHealthDetails(request('health/details'), context());

      expect(response.status).toBe(503);
      expect(bodyOf(response)).toEqual({
        status: 'unhealthy',
        problem: expect.stringMatching(/^settings: FleetStorage: /),
      });
      expect(JSON.stringify(response)).not.toContain('bm90IGEgcmVhbCBrZXk');
    } finally {
      if (saved === undefined) delete process.env.FleetStorage;
      else process.env.FleetStorage = saved;
      useServices(undefined);
    }
  });
});

describe('the health routes', () => {
  it('are GET /api/health for anyone and GET /api/health/details with a function key', () => {
    expect(
      healthRoutes.map((r) => [r.options.route, r.options.methods, r.options.authLevel]),
    ).toEqual([
      ['health', ['GET'], 'anonymous'],
      ['health/details', ['GET'], 'function'],
    ]);
  });
});
