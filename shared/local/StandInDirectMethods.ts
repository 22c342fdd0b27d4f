import http from 'node:http';
import {
  StandInHubProtocol,
  StandInVerbatimAnswer,
  decodePathSegment,
  parseJson,
} from './StandInHubProtocol';

/** What a device answers a direct-method call, as the handler scripts it. */
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
  | StandInVerbatimAnswer;

/** Scripts the devices: what the device answers a call of `methodName` with `payload`. */
export type StandInHandler = (
  hub: string,
  deviceId: string,
  methodName: string,
  payload: unknown,
  /** The call's own timeouts, as certfleet sent them (IoT Hub's defaults when it did not). */
  timeouts?: { responseTimeoutSeconds?: number; connectTimeoutSeconds?: number },
) => StandInAnswer | Promise<StandInAnswer>;

/** A direct-method call as the stand-in received and answered it. */
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

/** Where IoT Hub serves direct methods (`/twins/{deviceId}/methods`), after the hub's name. */
export const DIRECT_METHOD_PATH = /^\/([^/]+)\/twins\/([^/]+)\/methods\/?$/;

/**
 * The stand-in hub's direct-method endpoint: it answers each call with the status code, headers
 * and error body the real service sends for what the handler scripts (AZURE-FACTS.md, "IoT Hub
 * direct methods"; docs/operations.md lists the sources), at once: it does not wait out
 * `responseTimeoutInSeconds` before a `'timeout'` (simulated time is the caller's).
 */
export class StandInDirectMethods {
  /** Direct-method calls. */
  readonly calls: StandInCall[] = [];

  constructor(
    private readonly protocol: StandInHubProtocol,
    private readonly handler: StandInHandler,
  ) {}

  /** One call, to the hub and device named by the path (DIRECT_METHOD_PATH's segments). */
  async serve(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    text: string,
    hubSegment: string,
    deviceSegment: string,
  ): Promise<void> {
    const protocol = this.protocol;
    const hub = decodePathSegment(hubSegment)?.toLowerCase();
    const deviceId = decodePathSegment(deviceSegment);
    if (hub === undefined || deviceId === undefined) {
      protocol.send(
        response,
        400,
        protocol.errorBody(400004, 'The request path is not valid.'),
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
      protocol.send(response, status, errorBody, name, headers);
    };

    // IoT Hub checks the caller before anything else.
    const refused = protocol.refuseCaller(url, authorization, hub);
    if (refused) {
      answer(refused.status, refused.body, refused.name);
      return;
    }
    const invalid = invalidMethodRequest(body);
    if (invalid) {
      answer(400, protocol.errorBody(400004, invalid), 'ArgumentInvalid');
      return;
    }
    const invocation = body as {
      methodName: string;
      payload?: unknown;
      responseTimeoutInSeconds?: number;
      connectTimeoutInSeconds?: number;
    };
    let result: StandInAnswer;
    try {
      result = await this.handler(hub, deviceId, invocation.methodName, invocation.payload, {
        ...(invocation.responseTimeoutInSeconds !== undefined
          ? { responseTimeoutSeconds: invocation.responseTimeoutInSeconds }
          : {}),
        ...(invocation.connectTimeoutInSeconds !== undefined
          ? { connectTimeoutSeconds: invocation.connectTimeoutInSeconds }
          : {}),
      });
    } catch {
      answer(500, protocol.errorBody(500001, 'The stand-in handler failed.'), 'ServerError');
      return;
    }
    if (typeof result === 'object' && 'device' in result) {
      call.status = 200;
      protocol.send(
        response,
        200,
        JSON.stringify({ status: result.device.status, payload: result.device.payload ?? null }),
      );
    } else if (result === 'offline') {
      // The body and header of a 404103 (Azure/azure-iot-sdk-csharp#3442).
      answer(
        404,
        protocol.errorBody(
          404103,
          "The operation failed because the requested device isn't online or hasn't registered the direct method callback. To learn more, see https://aka.ms/iothub404103",
          { timeout: '00:00:00' },
        ),
        'DeviceNotOnline',
      );
    } else if (result === 'not-found') {
      answer(
        404,
        protocol.errorBody(404001, 'The device is not registered or is disabled.'),
        'DeviceNotFound',
      );
    } else if (result === 'timeout') {
      // The body of a 504101 (MicrosoftDocs, Azure Video Analyzer troubleshooting).
      answer(
        504,
        protocol.errorBody(504101, 'Timed out waiting for the response from device.', {}),
        'GatewayTimeout',
      );
    } else if (result === 'throttled') {
      answer(
        429,
        protocol.errorBody(429001, 'The request has been throttled.'),
        'ThrottlingException',
        protocol.throttleHeaders(),
      );
    } else {
      call.status = result.httpStatus;
      protocol.sendVerbatim(response, result);
    }
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
