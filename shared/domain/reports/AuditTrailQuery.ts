import { AuditEntry, AuditEventType } from '../AuditEntry';
import { DAY_MS } from '../Clock';
import { deviceIdProblem, hubNameProblem, normalizeHubName } from '../DeviceKey';
import { dateOrInstant } from './DeviceFilter';

/**
 * A slice of the audit trail (`certfleet report trail`, `GET /api/audit/records`): the records
 * that happened from `from` to `to` (both inclusive), of one device or hub, of some types. The
 * trail is filed by UTC date, so the cost is one read of each date's blobs in the range, whatever
 * the filter: the range is capped at MAX_TRAIL_DAYS.
 */
export interface AuditTrailQuery {
  /** UTC ISO 8601 instants, inclusive. */
  from: string;
  to: string;
  deviceId?: string;
  hub?: string;
  types?: readonly AuditEventType[];
}

/** A year and a day: an auditor's period, and a bound on what one request reads. */
export const MAX_TRAIL_DAYS = 366;

/** Every audit record type, written out so that a type added to AuditEntry.ts is added here. */
const AUDIT_EVENT_TYPES: Record<AuditEventType, true> = {
  'certificate.first-seen': true,
  'certificate.renewed': true,
  'certificate.changed-unexpectedly': true,
  'certificate.removed': true,
  'certificate.expired': true,
  'device.deleted': true,
  'device.private-key-reported': true,
  'renewal.due': true,
  'renewal.requested': true,
  'renewal.failed': true,
  'renewal.succeeded': true,
  'renewal.abandoned': true,
  'renewal.moved': true,
  'incident.opened': true,
  'incident.resolved': true,
  'alert.raised': true,
  'alert.escalated': true,
  'alert.resolved': true,
  'alert.delivered': true,
  'report.written': true,
  'audit.chain-broken': true,
  'rotation.declared': true,
  'rotation.planned': true,
  'rotation.scheduled': true,
  'rotation.completed': true,
  'rotation.cancelled': true,
};

export const AUDIT_EVENT_TYPE_NAMES = Object.keys(AUDIT_EVENT_TYPES) as AuditEventType[];

export interface AuditTrailQueryInput {
  from?: string | undefined;
  to?: string | undefined;
  device?: string | undefined;
  hub?: string | undefined;
  /** Each may hold several types separated by commas. */
  types?: readonly string[] | undefined;
}

/**
 * The query, or what is wrong with it. A date (`YYYY-MM-DD`) as `from` is that day's first
 * instant, as `to` its last, so `--from 2026-11-01 --to 2026-11-01` is the whole day.
 */
export function auditTrailQueryFrom(
  input: AuditTrailQueryInput,
): { query: AuditTrailQuery } | { problem: string } {
  if (input.from === undefined || input.to === undefined)
    return { problem: 'from and to are required: UTC dates (YYYY-MM-DD) or ISO 8601 times' };
  const from = dateOrInstant(input.from);
  if (from === undefined)
    return { problem: 'from must be a UTC date (YYYY-MM-DD) or an ISO 8601 time with a zone' };
  const toStart = dateOrInstant(input.to);
  if (toStart === undefined)
    return { problem: 'to must be a UTC date (YYYY-MM-DD) or an ISO 8601 time with a zone' };
  const to = /^\d{4}-\d{2}-\d{2}$/.test(input.to.trim())
    ? new Date(Date.parse(toStart) + DAY_MS - 1).toISOString()
    : toStart;
  if (to < from) return { problem: 'to must not be before from' };
  const days = (Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / DAY_MS + 1;
  if (days > MAX_TRAIL_DAYS)
    return { problem: `from and to span ${days} days: at most ${MAX_TRAIL_DAYS} per request` };
  const query: AuditTrailQuery = { from, to };
  if (input.device !== undefined) {
    const wrong = deviceIdProblem(input.device);
    if (wrong) return { problem: `device must be an IoT Hub device id: it ${wrong}` };
    query.deviceId = input.device;
  }
  if (input.hub !== undefined) {
    const hub = normalizeHubName(input.hub);
    const wrong = hubNameProblem(hub);
    if (wrong) return { problem: `hub must be an IoT Hub name: it ${wrong}` };
    query.hub = hub;
  }
  const types = (input.types ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length > 0) {
    const unknown = types.find((t) => !Object.hasOwn(AUDIT_EVENT_TYPES, t));
    if (unknown !== undefined)
      return { problem: `type must be one of ${AUDIT_EVENT_TYPE_NAMES.join(', ')}` };
    query.types = [...new Set(types)] as AuditEventType[];
  }
  return { query };
}

/** Whether a record of the dates read belongs to the query's answer. */
export function inAuditTrailQuery(entry: AuditEntry, query: AuditTrailQuery): boolean {
  const at = Date.parse(entry.occurredAt);
  return (
    at >= Date.parse(query.from) &&
    at <= Date.parse(query.to) &&
    (query.deviceId === undefined || entry.deviceId === query.deviceId) &&
    (query.hub === undefined || entry.hub === query.hub) &&
    (query.types === undefined || query.types.includes(entry.type))
  );
}

/** The UTC dates (YYYY-MM-DD) from the day of `from` to the day of `to`, both included. */
export function utcDatesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  const last = Date.parse(to.slice(0, 10));
  for (let day = Date.parse(from.slice(0, 10)); day <= last; day += DAY_MS)
    dates.push(new Date(day).toISOString().slice(0, 10));
  return dates;
}
