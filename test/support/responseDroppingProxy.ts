import http from 'node:http';
import { AddressInfo } from 'node:net';
import { azuriteConnectionString } from './rawStorage';

/**
 * A loopback HTTP proxy in front of Azurite's blob service that forwards every request and,
 * for the ones `drop` picks, lets the service act on it but cuts the connection instead of
 * returning the response: the request succeeded, the client never hears so and its SDK retries.
 * That is what a timeout after the service committed looks like from the client.
 */
export interface ResponseDroppingProxy {
  /** A connection string whose blob endpoint is the proxy. */
  connectionString: string;
  dropped: { method: string; url: string; status: number }[];
  close(): Promise<void>;
}

export async function responseDroppingProxy(
  drop: (request: http.IncomingMessage) => boolean,
): Promise<ResponseDroppingProxy> {
  const connectionString = azuriteConnectionString();
  const blobEndpoint = /BlobEndpoint=(http:\/\/[^;]+)/.exec(connectionString)?.[1];
  if (!blobEndpoint) throw new Error('the test connection string names no BlobEndpoint');
  const target = new URL(blobEndpoint);
  const dropped: ResponseDroppingProxy['dropped'] = [];

  const server = http.createServer((request, response) => {
    const dropThis = drop(request);
    const upstream = http.request(
      {
        host: target.hostname,
        port: Number(target.port),
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        if (dropThis) {
          dropped.push({
            method: request.method ?? '',
            url: request.url ?? '',
            status: answer.statusCode ?? 0,
          });
          answer.resume();
          answer.on('end', () => request.socket.destroy());
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => request.socket.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxied = new URL(blobEndpoint);
  proxied.port = String(port);
  return {
    connectionString: connectionString.replace(
      /BlobEndpoint=[^;]+/,
      `BlobEndpoint=${proxied.toString().replace(/\/$/, '')}`,
    ),
    dropped,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
