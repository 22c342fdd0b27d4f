import { createHash } from 'node:crypto';
import { canonicalJson } from '../../domain/AuditChain';
import { containsPrivateKeyBlock, redactPrivateKeys } from '../../domain/PrivateKeyMaterial';
import { RawIotHubMessage } from './RawIotHubMessage';
import { DeadLetter } from '../ports';

/** A dead letter keeps at most this much of the message; enough to see what was wrong. */
const MAX_KEPT_BODY_CHARS = 64 * 1024;

/**
 * Builds the dead letter for a message that could not be applied. Its id is a hash of the
 * message, so a redelivery overwrites the same dead letter rather than adding one. Private key
 * material is redacted before anything is kept, and huge bodies are cut.
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
    code: rejection.code,
    reason: rejection.reason,
    receivedAt,
    message: redacted,
  };
  if (rejection.hub) letter.hub = rejection.hub;
  if (rejection.deviceId) letter.deviceId = rejection.deviceId;
  return letter;
}

function plainBody(body: unknown): unknown {
  if (body instanceof Uint8Array) {
    const text = Buffer.from(body).toString('utf8');
    // Base64 would hide a private key from redaction: such a body is kept as (lossy) text.
    if (!text.includes('\uFFFD') || containsPrivateKeyBlock(text)) return text;
    return { base64: Buffer.from(body).toString('base64') };
  }
  return body === undefined ? null : body;
}
