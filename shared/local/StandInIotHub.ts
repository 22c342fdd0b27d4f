import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { parseSasToken } from '../adapters/iothub/iotHubConnection';

/**
 * A local stand-in for IoT Hub's direct-method REST endpoint, for tests and the fleet
 * simulator. It answers with the status codes, headers and error bodies the real service
 * sends (AZURE-FACTS.md, "IoT Hub direct methods"; docs/operations.md lists the sources), so
 * the adapter's classification is exercised against IoT Hub's shapes.
 *
 * Listens on 127.0.0.1 on a free port. Several hubs share it: what IoT Hub serves at
 * `https://{hub}.azure-devices.net/twins/{deviceId}/methods` is served here at
 * `{url}/{hub}/twins/{deviceId}/methods` (a local server cannot tell hubs apart by host name;
 * certfleet does the same with CERTFLEET_IOTHUB_ENDPOINT).
 *
 * What each device answers is scripted by the handler. The stand-in answers at once: it does
 * not wait out `responseTimeoutInSeconds` before a `'timeout'` (simulated time is the
 * caller's).
 *
 * Given a twin provider (`options.twins`), it also answers IoT Hub's twin query, "Query - Get
 * Twins": `POST {url}/{hub}/devices/query` with `{"query": "SELECT * FROM devices"}`, paged by
 * `x-ms-max-item-count` and `x-ms-continuation` as IoT Hub pages, each page a JSON array of
 * twins with `x-ms-item-type: twin`.
 */
export type StandInAnswer =
  /** The device answered: IoT Hub returns 200 `{status, payload}`. */
  | { device: { status: number; payload?: unknown } }
  /** 404 404103 DeviceNotOnline. */
  | 'offline'
  /**
   * 404 404001 DeviceNotFound. No published direct-method 404001 body was found: it takes the
   * shape of the 404103 one, with the header IoT Hub sends for DeviceNotFound.
   */
  | 'not-found'
  /** 504 504101 GatewayTimeout: connected, but no answer within the response timeout. */
  | 'timeout'
  /** 429 429001 ThrottlingException (shape as for 404001: the 404103 one). */
  | 'throttled'
  /** Anything else, verbatim: a string body is sent as is, anything else as JSON. */
  | { httpStatus: number; body?: unknown; headers?: Record<string, string> };

export type StandInHandler = (
  hub: string,
  deviceId: string,
  methodName: string,
  payload: unknown,
) => StandInAnswer | Promise<StandInAnswer>;

export interface StandInCall {
  hub: string;
  /** Decoded from the path. */
  deviceId: string;
  /** The raw request path and query, as sent (escaping included). */
  path: string;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  authorizationPresent: boolean;
  /** The Authorization header as sent, for checks on its `sr`, `skn` and `se`. */
  authorization?: string;
  /** The HTTP status the stand-in answered. */
  status: number;
}

/** What the twin query answers for one page: the hub's twins (the stand-in pages them), or a failure. */
export type StandInQueryAnswer =
  /** Every device twin of the hub, as IoT Hub returns them; the stand-in cuts the page. */
  | readonly unknown[]
  /** 429 429001 ThrottlingException (with Retry-After when `throttleRetryAfterSeconds` is set). */
  | 'throttled'
  /** Anything else, verbatim, as for direct methods. */
  | { httpStatus: number; body?: unknown; headers?: Record<string, string> };

/** Called for each query page: the hub, and the continuation token the caller sent, if any. */
export type StandInTwinProvider = (
  hub: string,
  page: { continuation?: string },
) => StandInQueryAnswer | Promise<StandInQueryAnswer>;

export interface StandInQueryCall {
  hub: string;
  /** The raw request path and query, as sent. */
  path: string;
  /** The query string of the body, or the raw body when it is not `{"query": …}`. */
  query: unknown;
  /** The `x-ms-continuation` header, when sent. */
  continuation?: string;
  /** The `x-ms-max-item-count` header, when sent. */
  maxItemCount?: string;
  authorizationPresent: boolean;
  authorization?: string;
  /** When the stand-in received it, by its clock (`options.now`). */
  at: string;
  /** The HTTP status the stand-in answered. */
  status: number;
  /** Twins in the page answered (0 when it was not a page). */
  twins: number;
}

export interface StandInIotHubOptions {
  /**
   * Shared access policies (name -> base64 key) whose SAS tokens are verified (signature,
   * expiry, `sr` naming `{hub}.azure-devices.net`); others get 401. Without it, any
   * Authorization header is accepted, as long as there is one.
   */
  sharedAccessKeys?: Record<string, string>;
  /** The clock of SAS expiry and of the timestamps in error bodies. */
  now?: () => Date;
  /** Adds `Retry-After: <seconds>` to 'throttled' answers (IoT Hub is not known to send one). */
  throttleRetryAfterSeconds?: number;
  /** Answers the twin query from these twins; without it, the query endpoint answers 404. */
  twins?: StandInTwinProvider;
  /**
   * The most twins a page holds, whatever `x-ms-max-item-count` asks ("the service may use a
   * different value"); so a few twins make several pages in tests.
   */
  maxTwinsPerPage?: number;
}

export const STAND_IN_API_VERSION = '2021-04-12';

const METHOD_PATH = /^\/([^/]+)\/twins\/([^/]+)\/methods\/?$/;
const QUERY_PATH = /^\/([^/]+)\/devices\/query\/?$/;
/** The one query the stand-in answers: every device twin. */
const TWIN_QUERY = /^\s*select\s+\*\s+from\s+devices\s*$/i;
/** IoT Hub's page size when the caller names none. */
const DEFAULT_PAGE_SIZE = 100;

export class StandInIotHub {
  /** Direct-method calls. */
  readonly calls: StandInCall[] = [];
  /** Twin query calls, one per page asked for. */
  readonly queries: StandInQueryCall[] = [];
  private server?: http.Server;
  private readonly now: () => Date;

  constructor(
    private readonly handler: StandInHandler,
    private readonly options: StandInIotHubOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('the stand-in IoT Hub is already started');
    const server = http.createServer((request, response) => {
      this.serve(request, response).catch(() => {
        if (!response.headersSent) this.send(response, 500, this.errorBody(500001), 'ServerError');
        else response.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const text = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const query = this.options.twins ? QUERY_PATH.exec(url.pathname) : null;
    if (query?.[1] && request.method === 'POST') {
      await this.serveQuery(request, response, url, text, query[1]);
      return;
    }
    const route = METHOD_PATH.exec(url.pathname);
    if (!route?.[1] || !route[2] || request.method !== 'POST') {
      this.send(response, 404, this.errorBody(404000, 'Not found'));
      return;
    }
    const hub = decodePathSegment(route[1])?.toLowerCase();
    const deviceId = decodePathSegment(route[2]);
    if (hub === undefined || deviceId === undefined) {
      this.send(
        response,
        400,
        this.errorBody(400004, 'The request path is not valid.'),
        'ArgumentInvalid',
      );
      return;
    }
    const body = parseJson(text) ?? text;
    const authorization = request.headers.authorization;
    const call: StandInCall = {
      hub,
      deviceId,
      path: request.url ?? '',
      body,
      authorizationPresent: authorization !== undefined && authorization !== '',
      ...(authorization ? { authorization } : {}),
      status: 0,
    };
    this.calls.push(call);
    const answer = (
      status: number,
      errorBody: string,
      name?: string,
      headers?: Record<string, string>,
    ) => {
      call.status = status;
      this.send(response, status, errorBody, name, headers);
    };

    // IoT Hub checks the caller before anything else.
    const refused = this.refuseCaller(url, authorization, hub);
    if (refused) {
      answer(refused.status, refused.body, refused.name);
      return;
    }
    const invalid = invalidMethodRequest(body);
    if (invalid) {
      answer(400, this.errorBody(400004, invalid), 'ArgumentInvalid');
      return;
    }
    const invocation = body as { methodName: string; payload?: unknown };
    let result: StandInAnswer;
    try {
      result = await this.handler(hub, deviceId, invocation.methodName, invocation.payload);
    } catch {
      answer(500, this.errorBody(500001, 'The stand-in handler failed.'), 'ServerError');
      return;
    }
    if (typeof result === 'object' && 'device' in result) {
      call.status = 200;
      this.send(
        response,
        200,
        JSON.stringify({ status: result.device.status, payload: result.device.payload ?? null }),
      );
    } else if (result === 'offline') {
      // The body and header of a 404103 (Azure/azure-iot-sdk-csharp#3442).
      answer(
        404,
        this.errorBody(
          404103,
          "The operation failed because the requested device isn't online or hasn't registered the direct method callback. To learn more, see https://aka.ms/iothub404103",
          { timeout: '00:00:00' },
        ),
        'DeviceNotOnline',
      );
    } else if (result === 'not-found') {
      answer(
        404,
        this.errorBody(404001, 'The device is not registered or is disabled.'),
        'DeviceNotFound',
      );
    } else if (result === 'timeout') {
      // The body of a 504101 (MicrosoftDocs, Azure Video Analyzer troubleshooting).
      answer(
        504,
        this.errorBody(504101, 'Timed out waiting for the response from device.', {}),
        'GatewayTimeout',
      );
    } else if (result === 'throttled') {
      const retryAfter = this.options.throttleRetryAfterSeconds;
      answer(
        429,
        this.errorBody(429001, 'The request has been throttled.'),
        'ThrottlingException',
        retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : undefined,
      );
    } else {
      call.status = result.httpStatus;
      const raw =
        typeof result.body === 'string'
          ? result.body
          : result.body === undefined
            ? ''
            : JSON.stringify(result.body);
      response.writeHead(result.httpStatus, {
        'content-type': 'application/json; charset=utf-8',
        ...result.headers,
      });
      response.end(raw);
    }
  }

  /** The twin query: IoT Hub's checks in its order, then one page of the provider's twins. */
  private async serveQuery(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    text: string,
    hubSegment: string,
  ): Promise<void> {
    const hub = decodePathSegment(hubSegment)?.toLowerCase();
    const body = parseJson(text);
    const queryText =
      typeof body === 'object' && body !== null && 'query' in body
        ? (body as { query: unknown }).query
        : text;
    const authorization = request.headers.authorization;
    const continuation = header(request, 'x-ms-continuation');
    const maxItemCount = header(request, 'x-ms-max-item-count');
    const call: StandInQueryCall = {
      hub: hub ?? hubSegment,
      path: request.url ?? '',
      query: queryText,
      ...(continuation !== undefined ? { continuation } : {}),
      ...(maxItemCount !== undefined ? { maxItemCount } : {}),
      authorizationPresent: authorization !== undefined && authorization !== '',
      ...(authorization ? { authorization } : {}),
      at: this.now().toISOString(),
      status: 0,
      twins: 0,
    };
    this.queries.push(call);
    const answer = (status: number, errorBody: string, name?: string) => {
      call.status = status;
      this.send(response, status, errorBody, name);
    };

    if (hub === undefined) {
      answer(400, this.errorBody(400004, 'The request path is not valid.'), 'ArgumentInvalid');
      return;
    }
    const refused = this.refuseCaller(url, authorization, hub);
    if (refused) {
      answer(refused.status, refused.body, refused.name);
      return;
    }
    if (typeof queryText !== 'string' || !TWIN_QUERY.test(queryText)) {
      answer(
        400,
        this.errorBody(400004, 'The stand-in answers only {"query": "SELECT * FROM devices"}.'),
        'ArgumentInvalid',
      );
      return;
    }
    const skip = continuation === undefined ? 0 : skipOf(continuation);
    if (skip === undefined) {
      answer(
        400,
        this.errorBody(400004, 'The continuation token is not valid.'),
        'ArgumentInvalid',
      );
      return;
    }

    let result: StandInQueryAnswer;
    try {
      result = await this.options.twins!(hub, continuation !== undefined ? { continuation } : {});
    } catch {
      answer(500, this.errorBody(500001, 'The stand-in twin provider failed.'), 'ServerError');
      return;
    }
    if (result === 'throttled') {
      const retryAfter = this.options.throttleRetryAfterSeconds;
      call.status = 429;
      this.send(
        response,
        429,
        this.errorBody(429001, 'The request has been throttled.'),
        'ThrottlingException',
        retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : undefined,
      );
      return;
    }
    if (!Array.isArray(result)) {
      const raw = result as {
        httpStatus: number;
        body?: unknown;
        headers?: Record<string, string>;
      };
      call.status = raw.httpStatus;
      response.writeHead(raw.httpStatus, {
        'content-type': 'application/json; charset=utf-8',
        ...raw.headers,
      });
      response.end(
        typeof raw.body === 'string'
          ? raw.body
          : raw.body === undefined
            ? ''
            : JSON.stringify(raw.body),
      );
      return;
    }
    const asked = Number(maxItemCount);
    const size = Math.min(
      Number.isInteger(asked) && asked > 0 ? asked : DEFAULT_PAGE_SIZE,
      this.options.maxTwinsPerPage ?? Number.POSITIVE_INFINITY,
    );
    const twins = (result as readonly unknown[]).slice(skip, skip + size);
    const more = skip + size < (result as readonly unknown[]).length;
    call.status = 200;
    call.twins = twins.length;
    this.send(response, 200, JSON.stringify(twins), undefined, {
      'x-ms-item-type': 'twin',
      ...(more ? { 'x-ms-continuation': continuationOf(skip + size) } : {}),
    });
  }

  /** Undefined when the caller may go on; otherwise why not (IoT Hub's 401 messages). */
  /** The caller's credentials, then the api-version: what IoT Hub refuses before reading on. */
  private refuseCaller(
    url: URL,
    authorization: string | undefined,
    hub: string,
  ): { status: number; body: string; name: string } | undefined {
    const authProblem = this.checkAuthorization(authorization, hub);
    if (authProblem) {
      return {
        status: 401,
        body: this.errorBody(401002, authProblem),
        name: 'IotHubUnauthorizedAccess',
      };
    }
    if (url.searchParams.get('api-version') !== STAND_IN_API_VERSION) {
      return {
        status: 400,
        body: this.errorBody(
          400001,
          `The api-version is not supported by the stand-in; use ${STAND_IN_API_VERSION}.`,
        ),
        name: 'InvalidProtocolVersion',
      };
    }
    return undefined;
  }

  private checkAuthorization(authorization: string | undefined, hub: string): string | undefined {
    if (!authorization) return 'Authorization header missing';
    const keys = this.options.sharedAccessKeys;
    if (!keys) return undefined;
    const sas = parseSasToken(authorization);
    if (!sas) return 'Malformed authorization header: not a SharedAccessSignature';
    const key = sas.skn !== undefined && Object.hasOwn(keys, sas.skn) ? keys[sas.skn] : undefined;
    if (key === undefined) return `Authorization rule '${sas.skn ?? ''}' does not allow access`;
    if (sas.sr.toLowerCase() !== `${hub}.azure-devices.net`)
      return 'The token does not apply to this hub';
    if (sas.se * 1000 <= this.now().getTime()) return 'The token has expired';
    const expected = createHmac('sha256', Buffer.from(key, 'base64'))
      .update(`${encodeURIComponent(sas.sr)}\n${sas.se}`)
      .digest();
    const given = Buffer.from(sas.sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? undefined
      : 'The token signature does not match';
  }

  /**
   * IoT Hub's error body: `Message` is itself a JSON string holding errorCode, trackingId,
   * message, info and timestampUtc; `ExceptionMessage` is empty.
   */
  private errorBody(errorCode: number, message = '', info?: object): string {
    const now = this.now();
    const inner = {
      errorCode,
      trackingId: `${randomBytes(16).toString('hex')}-G:0-TimeStamp:${trackingTime(now)}`,
      message,
      ...(info ? { info } : {}),
      // IoT Hub writes seven fractional digits.
      timestampUtc: now.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z'),
    };
    return JSON.stringify({ Message: JSON.stringify(inner), ExceptionMessage: '' });
  }

  private send(
    response: http.ServerResponse,
    status: number,
    body: string,
    errorName?: string,
    headers?: Record<string, string>,
  ): void {
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      ...(errorName ? { 'iothub-errorcode': errorName } : {}),
      ...headers,
    });
    response.end(body);
  }
}

/** Why a direct-method request body is not one IoT Hub accepts; undefined when it is. */
function invalidMethodRequest(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'The request body is not a JSON object.';
  }
  const b = body as Record<string, unknown>;
  if (typeof b.methodName !== 'string' || b.methodName === '') return 'methodName is required.';
  const within = (value: unknown, min: number, max: number) =>
    value === undefined ||
    (Number.isInteger(value) && (value as number) >= min && (value as number) <= max);
  if (!within(b.responseTimeoutInSeconds, 5, 300))
    return 'responseTimeoutInSeconds must be 5 to 300.';
  if (!within(b.connectTimeoutInSeconds, 0, 300))
    return 'connectTimeoutInSeconds must be 0 to 300.';
  return undefined;
}

/** `MM/dd/yyyy HH:mm:ss`, UTC, as IoT Hub's tracking ids carry it. */
function trackingTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}/${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
  );
}

/** An opaque-looking token, as IoT Hub's are: base64 of where the next page starts. */
function continuationOf(skip: number): string {
  return Buffer.from(JSON.stringify({ skip })).toString('base64');
}

function skipOf(token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { skip?: unknown };
    return Number.isInteger(parsed.skip) && (parsed.skip as number) >= 0
      ? (parsed.skip as number)
      : undefined;
  } catch {
    return undefined;
  }
}

function header(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
