import * as https from 'node:https';
import {
  DpsAssignment,
  DpsError,
  DpsRegistration,
  DpsRegistrationRequest,
} from './DpsRegistration';
import { sleep, Timers } from './Timers';

/**
 * DPS's device runtime REST API, spoken by the agent itself: no published version of the Node
 * provisioning SDK (azure-iot-provisioning-device 1.9.1, API 2019-03-31) sends a CSR.
 *
 *   PUT https://{dpsHost}/{idScope}/registrations/{registrationId}/register?api-version=…
 *       {"registrationId", "csr"}                        -> 202 {operationId, status: assigning}
 *   GET https://{dpsHost}/{idScope}/registrations/{registrationId}/operations/{operationId}?api-version=…
 *       while `status` is `assigning`, after Retry-After -> 200 {status: assigned, registrationState}
 *
 * (Learn REST reference, "Runtime Registration - Register Device" and "Operation Status Lookup":
 * 200/202 RegistrationOperationStatus with `Retry-After`; error bodies
 * ProvisioningServiceErrorDetails {errorCode, message}.) The 2025-07-01-preview API adds `csr`
 * (base64 DER PKCS#10) to the body and `registrationState.issuedCertificateChain` (base64 DER,
 * leaf first) to the answer (AZURE-FACTS.md, "Certificate management and DPS"). Headers are the
 * Node SDK's own (azure-iot-sdk-node, provisioning/transport/http: `Accept: application/json`,
 * `Content-Type: application/json; charset=utf-8`). The device authenticates by TLS client
 * certificate; every request opens its own connection, so no connection made with one
 * certificate is reused with another.
 */
export interface DpsHttpsClientOptions {
  /** `host` or `host:port` (global.azure-devices-provisioning.net, or a stand-in on loopback). */
  dpsHost: string;
  idScope: string;
  /** Every CA to trust for DPS's TLS certificate (PEM; replaces Node's built-in roots); those roots when absent. */
  caPem?: string;
  timers: Timers;
  apiVersion?: string;
  /** Status lookups before giving up on one registration (default 60). */
  maxPolls?: number;
  /** Each request's socket timeout (default 30 s). */
  requestTimeoutMs?: number;
}

export const DPS_API_VERSION = '2025-07-01-preview';

/**
 * DPS allows a device 5 status lookups in 10 s (AZURE-FACTS.md, "Certificate management and
 * DPS"): never poll sooner than every 2 s, whatever Retry-After says.
 */
export const MIN_POLL_INTERVAL_MS = 2_000;
/** When DPS sends no Retry-After. */
export const DEFAULT_POLL_INTERVAL_MS = 3_000;

const MAX_BODY_BYTES = 1024 * 1024;

export class DpsHttpsClient implements DpsRegistration {
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: DpsHttpsClientOptions) {
    const { host, port } = splitHostPort(options.dpsHost);
    this.host = host;
    this.port = port;
  }

  async register(request: DpsRegistrationRequest, signal?: AbortSignal): Promise<DpsAssignment> {
    const base = `/${encodeURIComponent(this.options.idScope)}/registrations/${encodeURIComponent(
      request.registrationId,
    )}`;
    const query = `api-version=${encodeURIComponent(this.options.apiVersion ?? DPS_API_VERSION)}`;
    let answer = await this.send(request, signal, 'PUT', `${base}/register?${query}`, {
      registrationId: request.registrationId,
      csr: request.csr,
    });
    const maxPolls = this.options.maxPolls ?? 60;
    for (let polls = 0; ; polls++) {
      const status = answer.body['status'];
      if (status === 'assigned') return assignmentOf(answer.body);
      if (status === 'failed' || status === 'disabled') throw registrationFailed(answer.body);
      if (status !== 'assigning' && status !== 'unassigned') {
        throw new DpsError('unavailable', `DPS answered an unknown status ${describe(status)}`, {
          status: answer.status,
        });
      }
      const operationId = answer.body['operationId'];
      if (typeof operationId !== 'string' || operationId === '') {
        throw new DpsError('unavailable', 'DPS answered "assigning" without an operationId');
      }
      if (polls >= maxPolls) {
        throw new DpsError('unavailable', `DPS still assigning after ${maxPolls} status lookups`);
      }
      await sleep(
        this.options.timers,
        Math.max(MIN_POLL_INTERVAL_MS, answer.retryAfterMs ?? DEFAULT_POLL_INTERVAL_MS),
        signal,
      );
      answer = await this.send(
        request,
        signal,
        'GET',
        `${base}/operations/${encodeURIComponent(operationId)}?${query}`,
      );
    }
  }

  private send(
    request: DpsRegistrationRequest,
    signal: AbortSignal | undefined,
    method: 'PUT' | 'GET',
    path: string,
    body?: unknown,
  ): Promise<DpsAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise<DpsAnswer>((resolve, reject) => {
      const outgoing = https.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: false,
          ...(signal ? { signal } : {}),
          cert: request.credential.certificateChainPem,
          key: request.credential.privateKeyPem,
          ...(this.options.caPem ? { ca: this.options.caPem } : {}),
          headers: {
            Accept: 'application/json',
            'User-Agent': 'certfleet-reference-agent/1',
            ...(payload
              ? {
                  'Content-Type': 'application/json; charset=utf-8',
                  'Content-Length': String(payload.length),
                }
              : {}),
          },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          incoming.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              incoming.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
            } else chunks.push(chunk);
          });
          incoming.on('error', (error) =>
            reject(new DpsError('unavailable', `DPS ${method}: ${error.message}`)),
          );
          incoming.on('end', () => {
            try {
              resolve(answerOf(incoming, Buffer.concat(chunks).toString('utf8')));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      outgoing.setTimeout(this.options.requestTimeoutMs ?? 30_000, () =>
        outgoing.destroy(new Error('timed out')),
      );
      outgoing.on('error', (error) =>
        reject(new DpsError('unavailable', `DPS ${method}: ${error.message}`)),
      );
      outgoing.end(payload);
    });
  }
}

interface DpsAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfterMs?: number;
}

function answerOf(incoming: import('node:http').IncomingMessage, text: string): DpsAnswer {
  const status = incoming.statusCode ?? 0;
  const retryAfterMs = retryAfterOf(incoming.headers['retry-after']);
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const object =
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined;
  if (status === 200 || status === 202) {
    if (!object) throw new DpsError('unavailable', `DPS answered ${status} without a JSON object`);
    return { status, body: object, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  const errorCode = typeof object?.['errorCode'] === 'number' ? object['errorCode'] : undefined;
  const message = typeof object?.['message'] === 'string' ? object['message'] : '';
  const details = {
    status,
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
  const said = `DPS answered ${status}${errorCode !== undefined ? ` (${errorCode})` : ''}${
    message ? `: ${message.slice(0, 300)}` : ''
  }`;
  if (status === 401 || status === 403) throw new DpsError('unauthorized', said, details);
  if (status === 429) throw new DpsError('throttled', said, details);
  if (status >= 400 && status < 500) throw new DpsError('rejected', said, details);
  throw new DpsError('unavailable', said, details);
}

/** Retry-After in seconds (DPS sends an integer), or an HTTP date. */
function retryAfterOf(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function assignmentOf(body: Record<string, unknown>): DpsAssignment {
  const state = body['registrationState'] as Record<string, unknown> | undefined;
  const assignedHub = state?.['assignedHub'];
  const deviceId = state?.['deviceId'];
  const chain = state?.['issuedCertificateChain'];
  if (typeof assignedHub !== 'string' || assignedHub === '' || typeof deviceId !== 'string') {
    throw new DpsError('unavailable', 'DPS answered "assigned" without assignedHub and deviceId');
  }
  if (
    !Array.isArray(chain) ||
    chain.length === 0 ||
    !chain.every((c) => typeof c === 'string' && c !== '')
  ) {
    throw new DpsError(
      'rejected',
      'DPS assigned the device but issued no certificate (is the enrollment linked to a certificate policy?)',
    );
  }
  return { assignedHub, deviceId, issuedCertificateChain: chain as string[] };
}

function registrationFailed(body: Record<string, unknown>): DpsError {
  const state = body['registrationState'] as Record<string, unknown> | undefined;
  const errorCode = typeof state?.['errorCode'] === 'number' ? state['errorCode'] : undefined;
  const errorMessage = typeof state?.['errorMessage'] === 'string' ? state['errorMessage'] : '';
  return new DpsError(
    'rejected',
    `DPS registration ${String(body['status'])}${errorCode !== undefined ? ` (${errorCode})` : ''}${
      errorMessage ? `: ${errorMessage.slice(0, 300)}` : ''
    }`,
    errorCode !== undefined ? { errorCode } : {},
  );
}

/** `host` or `host:port` (443 by default); an IPv6 address in brackets. */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostPort.trim());
  if (!match) throw new Error(`not a host or host:port: ${hostPort}`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : 443 };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value;
}
