import { createHash } from 'node:crypto';
import { canonicalJson } from '../../domain/AuditChain';
import { hasPrivateKeyStructure } from '../../domain/hasPrivateKeyStructure';
import {
  REDACTED,
  containsPrivateKeyMaterial,
  redactPrivateKeys,
} from '../../domain/PrivateKeyMaterial';
import { RawIotHubMessage } from './RawIotHubMessage';
import { DeadLetter } from '../ports';

/** A dead letter keeps at most this much of the message; enough to see what was wrong. */
const MAX_KEPT_BODY_CHARS = 64 * 1024;

/**
 * Builds the dead letter for a message that could not be applied. Its id is a hash of the
 * message, so a redelivery overwrites the same dead letter rather than adding one. Private key
 * material is redacted from everything kept (body, both property bags, the reason, the ids)
 * before anything else happens, and huge bodies are cut. A body's text that holds a key is never
 * kept raw: it is kept redacted (as JSON again, when it was JSON), or not at all.
 */
export function deadLetterOf(
  message: RawIotHubMessage,
  rejection: { code: string; reason: string; hub?: string; deviceId?: string },
  receivedAt: string,
): DeadLetter {
  const plain = {
    body: plainBody(message.body),
    properties: message.properties ?? {},
    systemProperties: message.systemProperties ?? {},
    ...(message.enqueuedTimeUtc ? { enqueuedTimeUtc: message.enqueuedTimeUtc } : {}),
  };
  const { value: redacted } = redactPrivateKeys(plain);
  const id = createHash('sha256').update(canonicalJson(redacted)).digest('hex').slice(0, 40);
  const kept = canonicalJson(redacted.body) ?? 'null';
  if (kept.length > MAX_KEPT_BODY_CHARS) {
    redacted.body = {
      truncated: true,
      chars: kept.length,
      head: kept.slice(0, MAX_KEPT_BODY_CHARS),
    };
  }
  const letter: DeadLetter = {
    id,
    code: redactPrivateKeys(rejection.code).value,
    reason: redactPrivateKeys(rejection.reason).value,
    receivedAt,
    message: redacted,
  };
  // An id that is key material names no device: it is left out, not kept redacted.
  if (rejection.hub && !containsPrivateKeyMaterial(rejection.hub)) letter.hub = rejection.hub;
  if (rejection.deviceId && !containsPrivateKeyMaterial(rejection.deviceId))
    letter.deviceId = rejection.deviceId;
  return letter;
}

function plainBody(body: unknown): unknown {
  const bytes = bytesOf(body);
  if (bytes) {
    const text = Buffer.from(bytes).toString('utf8');
    if (!text.includes('\uFFFD')) return text;
    // Binary: key bytes cannot be cut out of a lossy text, nor kept as base64.
    if (hasPrivateKeyStructure(bytes)) return REDACTED;
    // A key written as text inside binary is cut out of the (lossy) text by redaction.
    if (containsPrivateKeyMaterial(text)) return text;
    return { base64: Buffer.from(bytes).toString('base64') };
  }
  return body === undefined ? null : body;
}

/** A Buffer body, or one in the form JSON gives a Buffer (`{"type": "Buffer", "data": [...]}`). */
function bytesOf(body: unknown): Uint8Array | undefined {
  if (body instanceof Uint8Array) return body;
  if (body === null || typeof body !== 'object') return undefined;
  const { type, data } = body as { type?: unknown; data?: unknown };
  if (type !== 'Buffer' || !Array.isArray(data) || Object.keys(body).length !== 2) return undefined;
  if (!data.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255))
    return undefined;
  return Uint8Array.from(data as number[]);
}
