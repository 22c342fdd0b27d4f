// An applied event as the record keeps it to apply it again in its place: the reported
// certificate object with only the fields the ledger reads, and never the PEM.
import { LedgerEvent, TwinReportEvent } from '../LedgerEvent';
import { RememberedEvent } from '../DeviceRecord';
import { DeviceKey } from '../DeviceKey';

/**
 * The certificate fields of the device contract (docs/device-contract.md), kept first. A
 * reported object is kept whole when it is of a sane size; of one that is not, these and then
 * others by name, within the limits below. Whatever is kept, the ledger decides on it alone
 * (in order or late), so it decides the same either way.
 */
const CONTRACT_FIELDS: readonly string[] = [
  'validFrom',
  'validUntil',
  'thumbprint',
  'serialNumber',
  'issuer',
  'subject',
  'registrationId',
  'pem',
  'chain',
];
const KEPT_FIELDS = 32;
const KEPT_OBJECT_CHARACTERS = 8192;
const KEPT_DEPTH = 3;

/** What stands for a PEM (or a chain certificate) the x509 adapter inspected with the report. */
export const INSPECTED_PEM = '(PEM inspected when reported; not kept)';

/**
 * A string kept whole up to this size (the longest a contract field may be); a longer one keeps
 * its start and its length, which is all the check that rejects it reads.
 */
const KEPT_STRING_BYTES = 2048;
const KEPT_PREFIX_CHARACTERS = 64;

/** A string too long to keep: its start (for messages) and its size (for the limits). */
interface LongString {
  $start: string;
  $bytes: number;
}

/** An array too long to keep: its first items and its length (for the limits). */
interface LongArray {
  $items: unknown[];
  $length: number;
}

/**
 * The event as the record remembers it. Applying the remembered event decides what applying the
 * event itself decides (the same problems, the same facts), so the ledger applies this form
 * always, whether the event arrived in order or is placed later among others.
 */
export function rememberedEvent(event: LedgerEvent, maxPemBytes: number): RememberedEvent {
  const { hub: _hub, deviceId: _deviceId, ...rest } = event;
  if (rest.kind !== 'twin-report' || !rest.certificate.present) return structuredClone(rest);
  const value = rest.certificate.value;
  return {
    ...structuredClone(rest),
    certificate: { present: true, value: keptCertificate(value, maxPemBytes) },
  };
}

/** The remembered event as the ledger applies it, for the record's device. */
export function ledgerEventOf(remembered: RememberedEvent, key: DeviceKey): LedgerEvent {
  const event = { ...structuredClone(remembered), hub: key.hub, deviceId: key.deviceId };
  if (event.kind !== 'twin-report' || !event.certificate.present) return event;
  return {
    ...event,
    certificate: { present: true, value: restored(event.certificate.value) },
  } satisfies TwinReportEvent;
}

/** Whether two remembered events are one event delivered twice (inspection aside). */
export function sameEvent(a: RememberedEvent, b: RememberedEvent): boolean {
  return identityOf(a) === identityOf(b);
}

/**
 * A text that names the event: equal for a redelivery, different for any other event. IoT Hub's
 * sequence number names a connection change (the same number written another way is the same).
 */
export function identityOf(event: RememberedEvent): string {
  let identity = identities.get(event);
  if (identity === undefined) {
    identity = identityOfEvent(event);
    identities.set(event, identity);
  }
  return identity;
}

/** Events are not changed once remembered: each one's identity is worked out once. */
const identities = new WeakMap<RememberedEvent, string>();

function identityOfEvent(event: RememberedEvent): string {
  if (event.kind === 'connection')
    return `connection:${BigInt(`0x${event.sequenceNumber}`).toString(16)}`;
  if (event.kind !== 'twin-report') return canonicalJson(event);
  const { pem: _pem, ...rest } = event;
  return canonicalJson(rest);
}

function keptCertificate(value: unknown, maxPemBytes: number): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return kept(value, 0);
  const fields = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => {
    const rank = (name: string) => (CONTRACT_FIELDS.includes(name) ? 0 : 1);
    return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
  });
  const out: Record<string, unknown> = {};
  let characters = 0;
  for (const [name, field] of fields) {
    if (Object.keys(out).length >= KEPT_FIELDS) break;
    let value: unknown;
    if (name === 'pem') value = keptPem(field, maxPemBytes);
    else if (name === 'chain' && Array.isArray(field))
      value = keptArray(field, (entry) => keptPem(entry, maxPemBytes));
    else value = kept(field, 1);
    const size = name.length + canonicalJson(value).length;
    if (characters + size > KEPT_OBJECT_CHARACTERS && !CONTRACT_FIELDS.includes(name)) continue;
    characters += size;
    out[escapedName(name)] = value;
  }
  return out;
}

/**
 * A PEM (or a chain certificate) within the limit was inspected with the report: the inspection
 * stands for it. Anything else is kept as the checks that reject it need it.
 */
function keptPem(pem: unknown, maxPemBytes: number): unknown {
  if (typeof pem === 'string' && pem.trim() !== '' && Buffer.byteLength(pem, 'utf8') <= maxPemBytes)
    return INSPECTED_PEM;
  return kept(pem, 1);
}

/**
 * Strings up to a size, numbers and the like as they are, a longer string as its start and
 * size; objects and arrays to a depth, deeper ones as an empty one of their kind.
 */
function kept(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes <= KEPT_STRING_BYTES) return value;
    const long: LongString = { $start: value.slice(0, KEPT_PREFIX_CHARACTERS), $bytes: bytes };
    return long;
  }
  if (Array.isArray(value))
    return depth >= KEPT_DEPTH ? [] : keptArray(value, (v) => kept(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    if (depth >= KEPT_DEPTH) return {};
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value as Record<string, unknown>).slice(
      0,
      KEPT_FIELDS,
    ))
      out[escapedName(name)] = kept(field, depth + 1);
    return out;
  }
  return value;
}

/** Up to KEPT_FIELDS items as they are kept; a longer array as its first ones and its length. */
function keptArray(items: readonly unknown[], keep: (item: unknown) => unknown): unknown {
  if (items.length <= KEPT_FIELDS) return items.map(keep);
  const long: LongArray = { $items: items.slice(0, KEPT_FIELDS).map(keep), $length: items.length };
  return long;
}

/**
 * A long string comes back as its start padded to its size, a long array as its first items
 * repeated to its length: each fails the same checks (a size, a count) as the original.
 */
function restored(value: unknown): unknown {
  if (isLongString(value)) {
    const startBytes = Buffer.byteLength(value.$start, 'utf8');
    const bytes = Math.min(value.$bytes, MAX_RESTORED_BYTES);
    return value.$start + 'x'.repeat(Math.max(0, bytes - startBytes));
  }
  if (isLongArray(value)) {
    const items = value.$items.map((item) => restored(item));
    const length = Math.min(value.$length, MAX_RESTORED_ITEMS);
    return Array.from({ length }, (_, i) => items[i % items.length]);
  }
  if (Array.isArray(value)) return value.map((item) => restored(item));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value as Record<string, unknown>))
      out[unescapedName(name)] = restored(field);
    return out;
  }
  return value;
}

/**
 * A device's own property names that start with `$` get one more, so that no report can pass
 * for the shortened forms above (`$start`/`$bytes`, `$items`/`$length`) and make the ledger
 * rebuild a string or an array of any size it names; `restored` takes the `$` off again.
 */
function escapedName(name: string): string {
  return name.startsWith('$') ? `$${name}` : name;
}

function unescapedName(name: string): string {
  return name.startsWith('$$') ? name.slice(1) : name;
}

/**
 * Sizes a shortened form is rebuilt to at most: past any event certfleet accepts (the body
 * limit), so a rebuilt value fails the same checks, and never more, whatever a record holds.
 */
const MAX_RESTORED_BYTES = 4 * 1024 * 1024;
const MAX_RESTORED_ITEMS = 64 * 1024;

function isLongArray(value: unknown): value is LongArray {
  return (
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as LongArray).$items) &&
    typeof (value as LongArray).$length === 'number'
  );
}

function isLongString(value: unknown): value is LongString {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as LongString).$start === 'string' &&
    typeof (value as LongString).$bytes === 'number'
  );
}

/** JSON with object members in name order, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, member: unknown) => {
      if (member === null || typeof member !== 'object' || Array.isArray(member)) return member;
      const sorted: Record<string, unknown> = {};
      for (const name of Object.keys(member).sort()) {
        sorted[name] = (member as Record<string, unknown>)[name];
      }
      return sorted;
    }) ?? 'null'
  );
}
