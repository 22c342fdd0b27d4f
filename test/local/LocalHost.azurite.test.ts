import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LocalHost } from '../../shared/local/LocalHost';
import {
  httpTriggers,
  timerTriggers,
  eventHubTriggers,
} from '../../shared/local/triggerDefinitions';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { useServices } from '../../shared/services';
import { azuriteServices } from '../support/testStorage';

describe('the local host', () => {
  let host: LocalHost;
  let base: string;

  beforeEach(async () => {
    const { services } = azuriteServices({ now: '2026-11-23T12:00:00.000Z' });
    useServices(services);
    await services.ingest.apply([
      twinUpdated({ hub: 'contoso-hub', deviceId: 'meter#7', at: '2026-11-20T00:00:00.000Z' }, 2, {
        certificate: { validFrom: '2026-11-20T00:00:00Z', validUntil: '2026-12-20T00:00:00Z' },
      }),
    ]);
    host = new LocalHost(httpTriggers);
    base = await host.listen(0);
  });

  afterEach(async () => {
    await host.close();
    useServices(undefined);
  });

  it("serves a device's ledger record at the Functions route, with an escaped device id", async () => {
    const response = await fetch(`${base}/api/devices/${encodeURIComponent('meter#7')}`);
    const body = (await response.json()) as { deviceId: string; current: { validUntil: string } };

    expect(response.status).toBe(200);
    expect(body.deviceId).toBe('meter#7');
    expect(body.current.validUntil).toBe('2026-12-20T00:00:00.000Z');
  });

  it('passes the JSON body and the query to the handler (a bad renew request gets its 400)', async () => {
    const response = await fetch(
      `${base}/api/devices/${encodeURIComponent('meter#7')}/renew?hub=contoso-hub`,
      {
        method: 'POST',
        body: '{"requestedBy": "ops"}',
      },
    );

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: '"reason" is required: a string of at most 500 characters',
    });
  });

  it('answers 404 for a path no trigger serves and 405 for a method the route does not take', async () => {
    expect((await fetch(`${base}/api/nothing/here`)).status).toBe(404);
    expect((await fetch(`${base}/api/devices/meter-7`, { method: 'DELETE' })).status).toBe(405);
  });

  it.each([
    ['an escape that is not hex', '%zz'],
    ['a cut-off UTF-8 sequence', 'meter%E0%A4'],
    ['an overlong UTF-8 encoding', '%C0%AFetc'],
  ])('answers 400, not 500, for a path with %s', async (_, segment) => {
    const response = await fetch(`${base}/api/devices/${segment}`);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'the path holds a malformed % escape',
    });
  });

  it('answers 400, not 500, for a request target that is not a URL', async () => {
    const { port } = new URL(base);
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('GET http://[::1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('end', () => resolve(received.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });

    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
  });

  it('answers 413, not 500, for a body over its limit, and goes on serving', async () => {
    const response = await fetch(`${base}/api/devices/meter-7/renew`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) }),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'the body must be at most 1048576 bytes' });
    expect((await fetch(`${base}/api/devices/${encodeURIComponent('meter#7')}`)).status).toBe(200);
  });

  it("passes a body under the host's limit to the function, which answers 413 over its own", async () => {
    const response = await fetch(`${base}/api/devices/meter-7/renew`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'x'.repeat(100 * 1024) }),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'the body must be at most 16384 bytes' });
  });

  it('lists the routes it serves from the trigger definitions', () => {
    expect(host.describeRoutes()).toEqual([
      'GET /api/devices/{deviceId}',
      'POST /api/devices/{deviceId}/renew',
      'GET /api/alerts',
      'GET /api/audit/checks',
      'GET /api/audit/verify',
      'GET /api/reports/summary',
      'GET /api/reports/devices',
      'GET /api/devices/{deviceId}/history',
      'GET /api/audit/records',
      'GET /api/reports/archive/{date}/{file}',
      'GET /api/dashboard',
      'GET /api/dashboard/chart.js',
      'POST /api/rotations',
      'GET /api/rotations',
      'GET /api/rotations/{id}',
      'GET /api/health',
      'GET /api/health/details',
    ]);
  });
});

describe('the trigger definitions the local host uses', () => {
  it('hold every function the app registers with the Functions host', () => {
    const registered: string[] = [];
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { app } = require('@azure/functions') as typeof import('@azure/functions');
      for (const kind of ['http', 'timer', 'eventHub'] as const) {
        jest.spyOn(app, kind).mockImplementation(((name: string) => {
          registered.push(name);
        }) as never);
      }
      for (const file of readdirSync(join(__dirname, '..', '..', 'functions'))) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        if (file.endsWith('.ts')) require(join(__dirname, '..', '..', 'functions', file));
      }
    });
    const known = [...httpTriggers, ...timerTriggers, ...eventHubTriggers].map((t) => t.name);

    expect(registered.length).toBeGreaterThan(0);
    expect(registered.sort()).toEqual(known.sort());
  });
});
