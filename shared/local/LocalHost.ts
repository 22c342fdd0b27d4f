import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';

/**
 * A small local stand-in for the Functions host's HTTP front end: serves the app's HTTP
 * triggers, built from their own definitions (route template, methods, handler), on
 * http://localhost:7071/api/… as `func start` does. Function keys are not checked, as Core Tools
 * does not check them locally either. Only for local runs: in Azure the Functions host serves.
 */
export interface HttpTrigger {
  name: string;
  options: HttpFunctionOptions;
}

interface CompiledRoute {
  trigger: HttpTrigger;
  methods: string[];
  pattern: RegExp;
  params: string[];
}

export class LocalHost {
  private readonly routes: CompiledRoute[];
  private server?: Server;

  constructor(
    triggers: readonly HttpTrigger[],
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.routes = triggers.map(compile);
  }

  /** Starts listening; resolves with the base URL. */
  async listen(port = 7071, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log(`local host: ${(error as Error).message}`);
        if (!res.headersSent) send(res, { status: 500, jsonBody: { error: 'internal error' } });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`port ${port} is in use: stop what runs there or pick another port`)
            : error,
        ),
      );
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    return `http://${host === '127.0.0.1' ? 'localhost' : host}:${actual}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The routes served, as `GET /api/devices/{deviceId}`. */
  describeRoutes(): string[] {
    return this.routes.map(
      (r) => `${r.methods.join('|')} /api/${r.trigger.options.route ?? r.trigger.name}`,
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return send(res, { status: 400, jsonBody: { error: 'the request target is not a URL' } });
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const matching = this.routes
      .map((route) => ({ route, match: route.pattern.exec(url.pathname) }))
      .filter((m) => m.match !== null);
    if (matching.length === 0)
      return send(res, { status: 404, jsonBody: { error: `no route for ${url.pathname}` } });
    const found = matching.find((m) => m.route.methods.includes(method));
    if (!found) {
      return send(res, {
        status: 405,
        jsonBody: { error: `${method} is not allowed on ${url.pathname}` },
      });
    }
    const params: Record<string, string> = {};
    try {
      found.route.params.forEach((name, i) => {
        const value = found.match![i + 1];
        if (value !== undefined) params[name] = decodeURIComponent(value);
      });
    } catch (error) {
      // `%zz`, or escapes that are not UTF-8: the caller's mistake, not the host's.
      if (!(error instanceof URIError)) throw error;
      return send(res, { status: 400, jsonBody: { error: 'the path holds a malformed % escape' } });
    }
    const body = await readBody(req);
    if (body === 'too large') {
      return send(res, {
        status: 413,
        jsonBody: { error: `the body must be at most ${MAX_BODY_BYTES} bytes` },
      });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers[name] = value;
      else if (Array.isArray(value)) headers[name] = value.join(', ');
    }
    const request = new HttpRequest({
      method,
      url: url.toString(),
      headers,
      query: Object.fromEntries(url.searchParams.entries()),
      params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    });
    const context = new InvocationContext({
      functionName: found.route.trigger.name,
      invocationId: randomUUID(),
      logHandler: (_level, ...args) => this.log(args.map(String).join(' ')),
    });
    const result = await found.route.trigger.options.handler(request, context);
    const response = (result ?? { status: 204 }) as HttpResponseInit;
    if (isStreamed(response.body)) return stream(res, response, response.body);
    send(res, response);
  }
}

/** `devices/{deviceId}/renew` -> /^\/api\/devices\/([^/]+)\/renew$/ with params [deviceId]. */
function compile(trigger: HttpTrigger): CompiledRoute {
  const template = trigger.options.route ?? trigger.name;
  const params: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const param = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(:[^}?]*)?(\?)?\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[2]!);
      return param[1] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  const methods = (trigger.options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
  return { trigger, methods, pattern: new RegExp(`^/api/${source}$`), params };
}

/** The local host's limit on a request body (the Functions host's is 100 MB; each function has its own). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request body, or 'too large' past MAX_BODY_BYTES. What comes after the limit is read and
 * dropped rather than left unread, so the caller, still sending, gets the 413 and not a reset.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? 'too large' : Buffer.concat(chunks);
}

/**
 * A body the handler streams (an AsyncIterable or a ReadableStream, as the Functions v4 model
 * allows, for reports too large to hold): written chunk by chunk as it comes, waiting for the
 * client to take each. A failure part way cuts the connection, so the client sees an incomplete
 * answer rather than a complete-looking one.
 */
function isStreamed(body: unknown): body is AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

async function stream(
  res: ServerResponse,
  response: HttpResponseInit,
  body: AsyncIterable<Uint8Array | string>,
): Promise<void> {
  res.writeHead(response.status ?? 200, headersOf(response));
  try {
    for await (const chunk of body) {
      if (res.destroyed) return; // the client went away: stop reading what it will not get
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  } catch (error) {
    res.destroy();
    throw error;
  }
}

function headersOf(response: HttpResponseInit): Record<string, string> {
  const headers: Record<string, string> = {};
  const given = response.headers;
  if (given) {
    const entries =
      given instanceof Headers
        ? [...given.entries()]
        : Array.isArray(given)
          ? given
          : Object.entries(given);
    for (const [name, value] of entries as [string, string][])
      headers[name.toLowerCase()] = String(value);
  }
  return headers;
}

function send(res: ServerResponse, response: HttpResponseInit): void {
  const headers = headersOf(response);
  let payload: string | Buffer | undefined;
  if (response.jsonBody !== undefined) {
    payload = JSON.stringify(response.jsonBody, null, 2);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  } else if (typeof response.body === 'string') payload = response.body;
  else if (response.body instanceof Uint8Array) payload = Buffer.from(response.body);
  res.writeHead(response.status ?? 200, headers);
  res.end(payload);
}
