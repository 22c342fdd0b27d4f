import { isoUtc, parseEnqueuedTime, parseIsoInstant } from '../../domain/Clock';
import {
  deviceIdProblem,
  hubNameProblem,
  moduleIdProblem,
  normalizeHubName,
} from '../../domain/DeviceKey';
import { LedgerEvent, PrivateKeyLeakEvent, TwinReportEvent } from '../../domain/LedgerEvent';
import {
  MAX_JSON_DEPTH,
  containsPrivateKeyMaterial,
  redactPrivateKeys,
} from '../../domain/PrivateKeyMaterial';
import { RawIotHubMessage } from './RawIotHubMessage';

/**
 * Turns one routed IoT Hub message into ledger events, or says precisely why it cannot.
 * Pure and total: whatever arrives, it returns; it never throws.
 */
export type DecodeResult =
  | { ok: true; events: LedgerEvent[]; ignored?: string }
  | {
      ok: false;
      code: RejectionCode;
      reason: string;
      hub?: string;
      deviceId?: string;
      /** The message is unusable, but it carried a known device's private key: record that. */
      leak?: PrivateKeyLeakEvent;
    };

export type RejectionCode =
  | 'body-not-json'
  | 'body-too-large'
  | 'missing-device-id'
  | 'missing-hub'
  | 'invalid-device-id'
  | 'invalid-module-id'
  | 'invalid-hub-name'
  | 'private-key-in-identity'
  | 'missing-timestamp'
  | 'unknown-source'
  | 'malformed-body';

export interface DecodeOptions {
  /** Dotted path of the certificate object under properties.reported. */
  certificatePath: string;
  maxBodyBytes: number;
  /** Twin tag naming the device's cohort (renewal policy); omitted: cohorts not read. */
  cohortTag?: string;
}

type Source = 'twinChangeEvents' | 'deviceLifecycleEvents' | 'deviceConnectionStateEvents';

const SCHEMA_TO_SOURCE: Record<string, Source> = {
  twinChangeNotification: 'twinChangeEvents',
  deviceLifecycleNotification: 'deviceLifecycleEvents',
  deviceConnectionStateNotification: 'deviceConnectionStateEvents',
};

const OPTYPE_TO_SOURCE: Record<string, Source> = {
  updateTwin: 'twinChangeEvents',
  replaceTwin: 'twinChangeEvents',
  createDeviceIdentity: 'deviceLifecycleEvents',
  deleteDeviceIdentity: 'deviceLifecycleEvents',
  deviceConnected: 'deviceConnectionStateEvents',
  deviceDisconnected: 'deviceConnectionStateEvents',
};

export function decodeIotHubMessage(
  message: RawIotHubMessage,
  options: DecodeOptions,
): DecodeResult {
  const decoded = decodeRoutedMessage(message, options);
  const leak = privateKeyLeakOf(message, decoded);
  if (!leak) return decoded;
  return decoded.ok ? { ...decoded, events: [...decoded.events, leak] } : { ...decoded, leak };
}

function decodeRoutedMessage(message: RawIotHubMessage, options: DecodeOptions): DecodeResult {
  const props = message.properties ?? {};
  const sys = message.systemProperties ?? {};
  const deviceId = text(sys['iothub-connection-device-id']) ?? text(props['deviceId']);
  const hubRaw = text(props['hubName']) ?? text(sys['user-id']);
  const hub = hubRaw ? normalizeHubName(hubRaw) : undefined;
  const who = { ...(hub ? { hub } : {}), ...(deviceId ? { deviceId } : {}) };

  const opType = text(props['opType']);
  const source = sourceOf(
    text(sys['iothub-message-source']),
    text(props['iothub-message-schema']),
    opType,
  );
  if (!source || !opType || OPTYPE_TO_SOURCE[opType] !== source) {
    return {
      ok: false,
      code: 'unknown-source',
      reason: `not an IoT Hub twin, lifecycle or connection event (source ${String(source ?? 'unknown')}, opType ${String(opType ?? 'missing')})`,
      ...who,
    };
  }
  const contradiction = schemaContradiction(
    text(sys['iothub-message-source']),
    text(props['iothub-message-schema']),
  );
  if (contradiction) return { ok: false, code: 'unknown-source', reason: contradiction, ...who };
  if (!deviceId)
    return {
      ok: false,
      code: 'missing-device-id',
      reason: 'no iothub-connection-device-id or deviceId property',
      ...who,
    };
  if (!hub) return { ok: false, code: 'missing-hub', reason: 'no hubName property', ...who };
  // Ids IoT Hub could not have given (too long for a Table key, characters outside its set, not
  // text at all) stop here, before any decision or storage; the bad id is not repeated beside
  // the reason (the dead letter keeps the message, redacted).
  const badDevice = deviceIdProblem(deviceId);
  if (badDevice) return { ok: false, code: 'invalid-device-id', reason: badDevice, hub };
  const badHub = hubNameProblem(hub);
  if (badHub) return { ok: false, code: 'invalid-hub-name', reason: badHub, deviceId };
  // Key material as an id (base64url DER meets IoT Hub's rules) names no device, and would be
  // kept in the ledger, the audit trail and the renewal index.
  if (containsPrivateKeyMaterial(deviceId) || containsPrivateKeyMaterial(hubRaw ?? '')) {
    return {
      ok: false,
      code: 'private-key-in-identity',
      reason: 'the device id or hub name is private key material',
    };
  }

  const moduleId = text(sys['iothub-connection-module-id']) ?? text(props['moduleId']);
  if (moduleId) {
    const badModule = moduleIdProblem(moduleId);
    if (badModule) return { ok: false, code: 'invalid-module-id', reason: badModule, ...who };
    return { ok: true, events: [], ignored: 'module identity events are not tracked' };
  }

  const when = occurredAtOf(message);
  if (!when)
    return {
      ok: false,
      code: 'missing-timestamp',
      reason: 'no operationTimestamp or enqueued time',
      ...who,
    };
  const occurredAt = isoUtc(when);

  const body = parseBody(message.body, options.maxBodyBytes);
  if (!body.ok) return { ok: false, code: body.code, reason: body.reason, ...who };
  if (nestedDeeperThan(body.value, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      code: 'malformed-body',
      reason: `body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      ...who,
    };
  }
  const base = { hub, deviceId, occurredAt, opType };

  switch (opType) {
    case 'updateTwin':
    case 'replaceTwin':
    case 'createDeviceIdentity': {
      const report = twinReport(
        body.value,
        opType !== 'updateTwin',
        options.certificatePath,
        options.cohortTag,
      );
      if (!report.ok) return { ok: false, code: 'malformed-body', reason: report.reason, ...who };
      const events: LedgerEvent[] = [];
      if (opType === 'createDeviceIdentity')
        events.push({ kind: 'lifecycle', change: 'created', ...base });
      events.push({ kind: 'twin-report', ...base, ...report.value });
      return { ok: true, events };
    }
    case 'deleteDeviceIdentity':
      return { ok: true, events: [{ kind: 'lifecycle', change: 'deleted', ...base }] };
    case 'deviceConnected':
    case 'deviceDisconnected': {
      const seq = isObject(body.value) ? body.value['sequenceNumber'] : undefined;
      if (typeof seq !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(seq)) {
        return {
          ok: false,
          code: 'malformed-body',
          reason: 'connection-state body needs a hex sequenceNumber',
          ...who,
        };
      }
      return {
        ok: true,
        events: [
          {
            kind: 'connection',
            connected: opType === 'deviceConnected',
            sequenceNumber: seq.toLowerCase(),
            ...base,
          },
        ],
      };
    }
    default:
      return { ok: false, code: 'unknown-source', reason: `unknown opType ${opType}`, ...who };
  }
}

type TwinReportFields = Pick<
  TwinReportEvent,
  'complete' | 'reportedVersion' | 'certificate' | 'privateKeyReported' | 'cohort' | 'twinVersion'
>;

function twinReport(
  body: unknown,
  complete: boolean,
  certificatePath: string,
  cohortTag: string | undefined,
): { ok: true; value: TwinReportFields } | { ok: false; reason: string } {
  if (!isObject(body)) return { ok: false, reason: 'twin body must be a JSON object' };
  const tagFields = cohortOf(body, cohortTag);
  const properties = body['properties'];
  const reportedRaw = isObject(properties) ? properties['reported'] : undefined;
  if (reportedRaw === undefined) {
    // A desired-only change, or a twin without reported properties.
    return {
      ok: true,
      value: { complete, certificate: { present: false }, privateKeyReported: false, ...tagFields },
    };
  }
  if (!isObject(reportedRaw)) return { ok: false, reason: 'properties.reported must be an object' };
  const { value: reported, found } = redactPrivateKeys(reportedRaw);
  const versionRaw = reported['$version'];
  let reportedVersion: number | undefined;
  if (versionRaw !== undefined) {
    if (typeof versionRaw !== 'number' || !Number.isSafeInteger(versionRaw) || versionRaw < 0) {
      return { ok: false, reason: 'properties.reported.$version must be a non-negative integer' };
    }
    reportedVersion = versionRaw;
  }
  const certificate = valueAtPath(reported, certificatePath);
  return {
    ok: true,
    value: { complete, reportedVersion, certificate, privateKeyReported: found, ...tagFields },
  };
}

/**
 * Rejections that come once the device and the time are known: the message's content is at
 * fault, and a key in it is still that device's leak.
 */
const CONTENT_PROBLEMS: readonly RejectionCode[] = [
  'body-not-json',
  'body-too-large',
  'malformed-body',
];

/**
 * A private key anywhere in a message about a known device is a leak of that device's key,
 * whatever else is wrong with the message. The reported properties carry their own flag, ordered
 * by their `$version`; a key anywhere else (tags, desired properties, another event's body, the
 * message's properties, a body that cannot be used) becomes an event of its own, so the device
 * is flagged even when the message is dead-lettered.
 */
function privateKeyLeakOf(
  message: RawIotHubMessage,
  decoded: DecodeResult,
): PrivateKeyLeakEvent | undefined {
  let about: Pick<PrivateKeyLeakEvent, 'hub' | 'deviceId' | 'occurredAt' | 'opType'>;
  if (decoded.ok) {
    const first = decoded.events[0];
    if (!first || decoded.events.some((e) => e.kind === 'twin-report' && e.privateKeyReported))
      return undefined;
    about = first;
  } else {
    const when = occurredAtOf(message);
    const opType = text(message.properties?.['opType']);
    if (!CONTENT_PROBLEMS.includes(decoded.code) || !decoded.hub || !decoded.deviceId)
      return undefined;
    if (!when || !opType) return undefined;
    about = { hub: decoded.hub, deviceId: decoded.deviceId, occurredAt: isoUtc(when), opType };
  }
  // A twin report's reported properties were read already, and held no key.
  const reportRead = decoded.ok && decoded.events.some((e) => e.kind === 'twin-report');
  const body = reportRead ? withoutReported(message.body) : message.body;
  if (!redactPrivateKeys([body, message.properties, message.systemProperties]).found)
    return undefined;
  const { hub, deviceId, occurredAt, opType } = about;
  return { kind: 'private-key-leak', hub, deviceId, occurredAt, opType };
}

function withoutReported(body: unknown): unknown {
  const parsed = parseBody(body, Number.POSITIVE_INFINITY);
  if (!parsed.ok || !isObject(parsed.value) || !isObject(parsed.value['properties'])) return body;
  const { reported: _read, ...properties } = parsed.value['properties'];
  return { ...parsed.value, properties };
}

/** operationTimestamp, else the enqueued time IoT Hub or Event Hubs gives. */
function occurredAtOf(message: RawIotHubMessage): Date | undefined {
  const props = message.properties ?? {};
  const sys = message.systemProperties ?? {};
  return (
    parseIsoInstant(text(props['operationTimestamp'])) ??
    parseEnqueuedTime(enqueuedTimeOf(sys['iothub-enqueuedtime'])) ??
    parseEnqueuedTime(message.enqueuedTimeUtc)
  );
}

/** The cohort tag and the twin version that orders it, when the body carries the tags. */
function cohortOf(
  body: Record<string, unknown>,
  cohortTag: string | undefined,
): Pick<TwinReportEvent, 'cohort' | 'twinVersion'> {
  const tags = body['tags'];
  const version = body['version'];
  if (!cohortTag || !isObject(tags) || !Object.prototype.hasOwnProperty.call(tags, cohortTag))
    return {};
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return {};
  const value = tags[cohortTag];
  if (value !== null && typeof value !== 'string') return {};
  // A key as the cohort is no cohort (and would be stored): the leak is flagged, not kept.
  if (value !== null && containsPrivateKeyMaterial(value)) return {};
  return { cohort: { value }, twinVersion: version };
}

function valueAtPath(root: Record<string, unknown>, path: string): TwinReportEvent['certificate'] {
  let node: unknown = root;
  for (const segment of path.split('.')) {
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, segment))
      return { present: false };
    node = node[segment];
  }
  return { present: true, value: node };
}

function parseBody(
  body: unknown,
  maxBytes: number,
):
  | { ok: true; value: unknown }
  | { ok: false; code: 'body-not-json' | 'body-too-large'; reason: string } {
  let textBody: string | undefined;
  if (typeof body === 'string') textBody = body;
  else if (body instanceof Uint8Array) textBody = Buffer.from(body).toString('utf8');
  else if (isObject(body) && body['type'] === 'Buffer' && Array.isArray(body['data'])) {
    // A Buffer that went through JSON.stringify on its way here.
    textBody = Buffer.from(body['data'] as number[]).toString('utf8');
  }
  if (textBody === undefined) {
    const size = Buffer.byteLength(JSON.stringify(body) ?? '', 'utf8');
    if (size > maxBytes)
      return {
        ok: false,
        code: 'body-too-large',
        reason: `body is ${size} bytes, over ${maxBytes}`,
      };
    return { ok: true, value: body };
  }
  const size = Buffer.byteLength(textBody, 'utf8');
  if (size > maxBytes)
    return { ok: false, code: 'body-too-large', reason: `body is ${size} bytes, over ${maxBytes}` };
  try {
    return { ok: true, value: JSON.parse(textBody.replace(/^\uFEFF/, '')) };
  } catch (error) {
    return {
      ok: false,
      code: 'body-not-json',
      // Node's parser quotes the input it choked on; a dead letter's reason must not carry
      // the body's content (it could be key material), only where parsing failed.
      reason: `body is not JSON: ${jsonErrorPosition(error as Error)}`,
    };
  }
}

/** Iterative, so hostile nesting cannot exhaust the stack here either. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(node as object))
      stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

export function jsonErrorPosition(error: Error): string {
  const position = /position (\d+)/.exec(error.message);
  if (position) return `syntax error at position ${position[1]}`;
  return /end of (JSON )?input/i.test(error.message) ? 'unexpected end of input' : 'syntax error';
}

/**
 * A schema that names another source than iothub-message-source: IoT Hub sets both from one
 * route source, so a message where they disagree was not written by IoT Hub. Only known
 * values are repeated in the reason.
 */
function schemaContradiction(messageSource?: string, schema?: string): string | undefined {
  if (!messageSource || !schema) return undefined;
  const schemaSource = SCHEMA_TO_SOURCE[schema];
  if (!Object.prototype.hasOwnProperty.call(SCHEMA_TO_SOURCE, schema) || !schemaSource) {
    return 'iothub-message-schema is not one IoT Hub sends';
  }
  if (!Object.values(SCHEMA_TO_SOURCE).includes(messageSource as Source)) return undefined;
  return schemaSource === messageSource
    ? undefined
    : `iothub-message-schema ${schema} contradicts iothub-message-source ${messageSource}`;
}

/**
 * `iothub-enqueuedtime` as the transports hand it over: epoch milliseconds (a number), or text
 * with or without a zone, or a Date (AZURE-FACTS.md, "Enqueued time").
 */
function enqueuedTimeOf(value: unknown): unknown {
  return typeof value === 'number' ? value : text(value);
}

function sourceOf(messageSource?: string, schema?: string, opType?: string): Source | undefined {
  if (messageSource) {
    const known = ['twinChangeEvents', 'deviceLifecycleEvents', 'deviceConnectionStateEvents'];
    return known.includes(messageSource) ? (messageSource as Source) : undefined;
  }
  if (schema) return SCHEMA_TO_SOURCE[schema];
  return opType ? OPTYPE_TO_SOURCE[opType] : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8') || undefined;
  // The Functions host may hand system properties' times over as Date objects.
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
