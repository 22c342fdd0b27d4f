import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { parseSasToken } from '../adapters/iothub/iotHubConnection';

export const STAND_IN_API_VERSION = '2021-04-12';

/** An answer sent verbatim: a string body as is, anything else as JSON. */
export interface StandInVerbatimAnswer {
  httpStatus: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StandInHubProtocolOptions {
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
}

/**
 * What the stand-in hub's endpoints (StandInDirectMethods, StandInTwinQuery) do alike, as IoT
 * Hub does it: check the caller (its SAS token, then the api-version) before anything else, and
 * answer failures with IoT Hub's error bodies and `iothub-errorcode` header.
 */
export class StandInHubProtocol {
  readonly now: () => Date;

  constructor(private readonly options: StandInHubProtocolOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The caller's credentials, then the api-version: what IoT Hub refuses before reading on.
   * Undefined when the caller may go on; otherwise why not (IoT Hub's 401 messages).
   */
  refuseCaller(
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

  /** The headers of a 'throttled' answer: `Retry-After` when the options ask for one. */
  throttleHeaders(): Record<string, string> | undefined {
    const retryAfter = this.options.throttleRetryAfterSeconds;
    return retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : undefined;
  }

  /**
   * IoT Hub's error body: `Message` is itself a JSON string holding errorCode, trackingId,
   * message, info and timestampUtc; `ExceptionMessage` is empty.
   */
  errorBody(errorCode: number, message = '', info?: object): string {
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

  send(
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

  sendVerbatim(response: http.ServerResponse, answer: StandInVerbatimAnswer): void {
    response.writeHead(answer.httpStatus, {
      'content-type': 'application/json; charset=utf-8',
      ...answer.headers,
    });
    response.end(
      typeof answer.body === 'string'
        ? answer.body
        : answer.body === undefined
          ? ''
          : JSON.stringify(answer.body),
    );
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
}

/** `MM/dd/yyyy HH:mm:ss`, UTC, as IoT Hub's tracking ids carry it. */
function trackingTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}/${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
  );
}

export function header(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
