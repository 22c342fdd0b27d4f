import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';

/**
 * A loopback receiver for the alert sinks' tests: it records every request (method, path and
 * query, headers, the raw body) and answers as the test scripted, or never answers at all.
 * Plain HTTP unless a TLS key and certificate are given.
 */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type ScriptedAnswer =
  { status: number; headers?: Record<string, string>; body?: string } | { hang: true };

export interface RecordingServer {
  /** `http(s)://127.0.0.1:<port>`, without a trailing slash. */
  origin: string;
  requests: RecordedRequest[];
  /** How the next requests are answered (200 with an empty body until set). */
  answerWith(answer: ScriptedAnswer | ((request: RecordedRequest) => ScriptedAnswer)): void;
  close(): Promise<void>;
}

export async function recordingServer(tls?: {
  key: string;
  cert: string;
}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let script: (request: RecordedRequest) => ScriptedAnswer = () => ({ status: 200 });
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const answer = script(request);
      if ('hang' in answer) return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    answerWith(answer) {
      script = typeof answer === 'function' ? answer : () => answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // A hanging answer keeps its connection open: cut it so the server can stop.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An origin nobody listens on: a port the system gave out and that was closed again. */
export async function closedOrigin(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
