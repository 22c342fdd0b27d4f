/**
 * certfleet's `renewCertificate` direct method, as docs/device-contract.md defines it: the
 * request's payload, and the agent's answers (the method's status and payload).
 */
export interface RenewalRequest {
  requestId: string;
  /** certfleet's reason; any value the agent does not know is read as `due`. */
  reason: RenewalReason;
  currentValidUntil?: Date;
  deadline?: Date;
}

export const RENEWAL_REASONS = [
  'due',
  'capacity',
  'retry',
  'manual',
  'device-connected',
  'rotation',
] as const;
export type RenewalReason = (typeof RENEWAL_REASONS)[number];

/** The direct method's answer: IoT Hub hands `status` and `payload` to the caller as they are. */
export interface MethodAnswer {
  status: number;
  payload: Record<string, unknown>;
}

export type ParsedRenewalRequest =
  { ok: true; request: RenewalRequest } | { ok: false; problem: string; requestId?: string };

const MAX_REQUEST_ID_LENGTH = 128;

export function parseRenewalRequest(payload: unknown): ParsedRenewalRequest {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { ok: false, problem: 'the payload must be a JSON object' };
  }
  const body = payload as Record<string, unknown>;
  const requestId = body['requestId'];
  if (typeof requestId !== 'string' || requestId.trim() === '') {
    return { ok: false, problem: 'requestId must be a non-empty string' };
  }
  if (requestId.length > MAX_REQUEST_ID_LENGTH || [...requestId].some(isControl)) {
    return {
      ok: false,
      problem: `requestId must be at most ${MAX_REQUEST_ID_LENGTH} printable characters`,
    };
  }
  const reason = body['reason'];
  if (reason !== undefined && typeof reason !== 'string') {
    return { ok: false, problem: 'reason must be a string', requestId };
  }
  const request: RenewalRequest = {
    requestId,
    reason: (RENEWAL_REASONS as readonly unknown[]).includes(reason)
      ? (reason as RenewalReason)
      : 'due',
  };
  for (const field of ['currentValidUntil', 'deadline'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const instant = typeof value === 'string' ? parseInstant(value) : undefined;
    if (!instant) {
      return { ok: false, problem: `${field} must be an ISO 8601 time with a zone`, requestId };
    }
    request[field] = instant;
  }
  return { ok: true, request };
}

function isControl(character: string): boolean {
  const code = character.codePointAt(0)!;
  return code < 0x20 || code === 0x7f;
}

function parseInstant(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    return undefined;
  }
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

/** Accepted: renewing now (the contract's 200 or 202). */
export function accepted(requestId: string): MethodAnswer {
  return { status: 202, payload: { requestId, status: 'accepted' } };
}

/** Already renewing on its own schedule: certfleet counts a refusal and asks again later. */
export function alreadyRenewing(requestId: string): MethodAnswer {
  return { status: 409, payload: { requestId, status: 'already-renewing' } };
}

/** A request it cannot read (the contract's "any other": refused). */
export function malformed(problem: string, requestId?: string): MethodAnswer {
  return {
    status: 400,
    payload: { ...(requestId !== undefined ? { requestId } : {}), status: 'malformed', problem },
  };
}

/** Busy (stopping, or DPS asked it to wait until `retryAt`): certfleet tries again later. */
export function busy(requestId: string, retryAt?: Date): MethodAnswer {
  return {
    status: 503,
    payload: { requestId, status: 'busy', ...(retryAt ? { retryAt: retryAt.toISOString() } : {}) },
  };
}
