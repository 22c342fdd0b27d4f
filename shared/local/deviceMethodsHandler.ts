import type { DeviceMethods } from '../app/ports';
import type { MethodOutcome, RenewalRequest } from '../domain/renewal/MethodOutcome';
import type { StandInAnswer, StandInHandler } from './StandInDirectMethods';

/**
 * A handler for the stand-in hub's REST endpoint (StandInIotHub) that hands each call of the
 * renewal method to devices behind a `DeviceMethods` port, such as the simulated fleet's
 * in-process devices, and answers with what they answered, as IoT Hub would: the device's
 * status and payload (200), or the hub's error for offline (404103), unknown (404001), no answer
 * in time (504101) and throttled (429001).
 *
 * Only certfleet's renewal method reaches them: a call of any other method is IoT Hub's 404103
 * for a device that "hasn't registered the direct method callback". A payload that is not a
 * renewal request is the device's 400, as a device that cannot read it answers.
 */
export function deviceMethodsHandler(
  devices: DeviceMethods,
  methodName = 'renewCertificate',
): StandInHandler {
  return async (hub, deviceId, calledMethod, payload): Promise<StandInAnswer> => {
    if (calledMethod !== methodName) return 'offline';
    const request = renewalRequestOf(payload);
    if (!request) {
      return { device: { status: 400, payload: { error: 'not a renewal request' } } };
    }
    return answerOf(await devices.requestRenewal({ hub, deviceId }, request));
  };
}

function renewalRequestOf(payload: unknown): RenewalRequest | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  const text = (field: string) => (typeof p[field] === 'string' ? (p[field] as string) : undefined);
  const requestId = text('requestId');
  if (!requestId) return undefined;
  return {
    requestId,
    reason: text('reason') ?? 'due',
    currentValidUntil: text('currentValidUntil') ?? '',
    deadline: text('deadline') ?? '',
  };
}

/** What IoT Hub answers the caller for the device's outcome. */
function answerOf(outcome: MethodOutcome): StandInAnswer {
  switch (outcome.kind) {
    case 'accepted':
    case 'refused':
      return {
        device: {
          status: outcome.status,
          ...(outcome.payload !== undefined ? { payload: outcome.payload } : {}),
        },
      };
    case 'offline':
    case 'not-found':
    case 'timeout':
    case 'throttled':
      return outcome.kind;
    case 'error':
      // Not the device's answer: the hub failed to deliver the call.
      return {
        httpStatus: 500,
        body: { Message: 'ErrorCode:ServerError;the call could not be delivered' },
      };
  }
}
