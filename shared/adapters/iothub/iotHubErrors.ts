/**
 * Reading IoT Hub's error answers. The service writes its error code in several shapes, all
 * seen from the direct-method endpoint or the registry (sources in docs/operations.md,
 * "IoT Hub direct methods"):
 *
 * 1. `{"Message":"{\"errorCode\":404103,\"trackingId\":\"…\",\"message\":\"…\",\"info\":{…},
 *    \"timestampUtc\":\"…\"}","ExceptionMessage":""}`: `Message` is itself a JSON string
 *    (404103 DeviceNotOnline, 504101 GatewayTimeout, today's shape);
 * 2. `{"Message":"ErrorCode:DeviceNotOnline;Timed out waiting for device to connect.",
 *    "ExceptionMessage":"Tracking ID:…-G:5-TimeStamp:01/18/2017 08:11:45"}`: a name, not a
 *    number (older answers, and registry errors such as DeviceNotFound and throttling);
 * 3. `{"errorCode":429001,"trackingId":"…","message":"…","timestampUtc":"…"}`: flat;
 * 4. the `iothub-errorcode` response header, which holds the name (`DeviceNotOnline`).
 */

/** IoT Hub's error names and their codes (Microsoft Learn, "Troubleshoot Azure IoT Hub error codes"). */
const CODES_BY_NAME: Readonly<Record<string, number>> = {
  ArgumentInvalid: 400004,
  ArgumentNull: 400005,
  InvalidProtocolVersion: 400001,
  IotHubFormatError: 400006,
  IotHubNotFound: 401001,
  IotHubUnauthorizedAccess: 401002,
  IotHubUnauthorized: 401003,
  IotHubSuspended: 403001,
  IotHubQuotaExceeded: 403002,
  DeviceDisabled: 403012,
  DeviceNotFound: 404001,
  DeviceNotOnline: 404103,
  GenericTooManyRequests: 429000,
  ThrottlingException: 429001,
  ThrottleBacklogLimitExceeded: 429002,
  ThrottlingBacklogTimeout: 429003,
  ThrottlingMaxActiveJobCountExceeded: 429004,
  DeviceThrottlingLimitExceeded: 429005,
  ServerError: 500001,
  ServiceUnavailable: 503001,
  ServerBusy: 503005,
  GenericGatewayTimeout: 504000,
  GatewayTimeout: 504101,
};

export const ERROR_NAMES_BY_CODE: ReadonlyMap<number, string> = new Map(
  Object.entries(CODES_BY_NAME).map(([name, code]) => [code, name]),
);

/** `404103`, `"404103"` or `DeviceNotOnline` -> 404103; anything else -> undefined. */
export function errorCodeFrom(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 100000 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{6}$/.test(text)) return Number(text);
  return Object.hasOwn(CODES_BY_NAME, text) ? CODES_BY_NAME[text] : undefined;
}

/**
 * The error code of an IoT Hub answer, from its body in any of the shapes above or else from
 * the `iothub-errorcode` header. Never throws: a body that is no JSON, or JSON of another
 * shape, yields undefined.
 */
export function iotHubErrorCode(body: string, header: string | null): number | undefined {
  return codeInValue(parseJson(body), 0) ?? codeInText(body) ?? errorCodeFrom(header ?? undefined);
}

function codeInValue(value: unknown, depth: number): number | undefined {
  // Real answers nest one level (a JSON string in `Message`); SDKs wrap them once more.
  if (depth > 4) return undefined;
  if (typeof value === 'string') {
    const nested = parseJson(value);
    return nested !== undefined ? codeInValue(nested, depth + 1) : codeInText(value);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const direct = errorCodeFrom(record.errorCode ?? record.ErrorCode);
  if (direct !== undefined) return direct;
  for (const key of ['Message', 'message']) {
    const code = codeInValue(record[key], depth + 1);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** `ErrorCode:DeviceNotOnline;…` or `ErrorCode:404103;…` in free text. */
function codeInText(text: string): number | undefined {
  const match = /ErrorCode\s*:\s*([A-Za-z]+|\d{6})/.exec(text);
  return match ? errorCodeFrom(match[1]) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
