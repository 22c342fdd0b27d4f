import http from 'node:http';
import { AddressInfo } from 'node:net';
import { azuriteConnectionString } from './rawStorage';

/**
 * Loopback HTTP proxies in front of Azurite's blob and table services that let a test decide,
 * request by request, what storage does: the SDK clients and the adapters above them are the
 * real ones, only the wire misbehaves.
 *
 * - `pass`: forwarded, answered as Azurite answers;
 * - `answer`: not forwarded; the client gets this status with the service's error code, in
 *   the body and the `x-ms-error-code` header as Azure writes them (JSON for tables, XML for
 *   blobs): a refusal before anything happened;
 * - `reset`: not forwarded; the connection is cut (a network fault before the service saw it);
 * - `drop-answer`: forwarded and carried out, then the connection is cut instead of answering
 *   (a timeout after the service committed: the SDK retries something already done).
 */
export type FaultAction =
  | { kind: 'pass' }
  | { kind: 'answer'; status: number; code: string }
  | { kind: 'reset' }
  | { kind: 'drop-answer' };

export interface ProxiedRequest {
  service: 'blob' | 'table';
  method: string;
  /** Path and query, URL-decoded. */
  path: string;
  body: string;
}

export interface FaultInjectingProxy {
  /** A connection string whose blob and table endpoints are the proxies. */
  connectionString: string;
  /** Every action other than `pass`, in order. */
  injected: { action: FaultAction; request: Omit<ProxiedRequest, 'body'> }[];
  close(): Promise<void>;
}

export async function faultInjectingProxy(
  decide: (request: ProxiedRequest) => FaultAction,
): Promise<FaultInjectingProxy> {
  const azurite = azuriteConnectionString();
  const injected: FaultInjectingProxy['injected'] = [];
  const endpoints = {
    blob: endpointOf(azurite, 'BlobEndpoint'),
    table: endpointOf(azurite, 'TableEndpoint'),
  };
  const servers: http.Server[] = [];
  let connectionString = azurite;
  for (const service of ['blob', 'table'] as const) {
    const target = endpoints[service];
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const seen = {
          service,
          method: request.method ?? '',
          path: safeDecode(request.url ?? ''),
        };
        const action = decide({ ...seen, body: body.toString('utf8') });
        if (action.kind !== 'pass') injected.push({ action, request: seen });
        if (action.kind === 'reset') {
          request.socket.destroy();
          return;
        }
        if (action.kind === 'answer') {
          answerWith(response, service, action);
          return;
        }
        const upstream = http.request(
          {
            host: target.hostname,
            port: Number(target.port),
            method: request.method,
            path: request.url,
            headers: request.headers,
          },
          (answer) => {
            if (action.kind === 'drop-answer') {
              answer.resume();
              answer.on('end', () => request.socket.destroy());
              return;
            }
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        upstream.on('error', () => request.socket.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const proxied = new URL(target.toString());
    proxied.port = String((server.address() as AddressInfo).port);
    const key = service === 'blob' ? 'BlobEndpoint' : 'TableEndpoint';
    connectionString = connectionString.replace(
      new RegExp(`${key}=[^;]+`),
      `${key}=${proxied.toString().replace(/\/$/, '')}`,
    );
  }
  return {
    connectionString,
    injected,
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}

function endpointOf(connectionString: string, key: string): URL {
  const value = new RegExp(`${key}=(http://[^;]+)`).exec(connectionString)?.[1];
  if (!value) throw new Error(`the test connection string names no ${key}`);
  return new URL(value);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** An error answer as the service writes it (Microsoft Learn, "Status and error codes"). */
function answerWith(
  response: http.ServerResponse,
  service: 'blob' | 'table',
  action: { status: number; code: string },
): void {
  const message = `injected by the test: ${action.code}`;
  const body =
    service === 'table'
      ? JSON.stringify({
          'odata.error': { code: action.code, message: { lang: 'en-US', value: message } },
        })
      : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${action.code}</Code><Message>${message}</Message></Error>`;
  response.writeHead(action.status, {
    'content-type':
      service === 'table'
        ? 'application/json;odata=minimalmetadata;charset=utf-8'
        : 'application/xml',
    'x-ms-error-code': action.code,
    'x-ms-request-id': 'injected',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
