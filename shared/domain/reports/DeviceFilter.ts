import {
  AUDIT_CHECKS,
  AuditCheck,
  AuditCheckSettings,
  FleetAuditChecks,
} from '../audit/FleetAuditChecks';
import { sameDistinguishedName } from '../Certificate';
import { parseIsoInstant } from '../Clock';
import { hubNameProblem, normalizeHubName } from '../DeviceKey';
import { DeviceRecord } from '../DeviceRecord';
import { FindingCode } from '../Finding';
import {
  FLEET_STATES,
  FleetState,
  UNKNOWN_ISSUER,
  cohortOf,
  fleetStateOf,
  issuerOf,
} from './fleetState';

/**
 * Which devices of the fleet a device report lists (`certfleet report devices`, `GET
 * /api/reports/devices`). Every given field must hold. The values are the summary's own names,
 * so a count in the summary and the rows of the list agree: `state=unknown` is a device with no
 * certificate yet, `issuer=unknown` one that reported no issuer, `cohort=default` one in no
 * cohort.
 */
export interface DeviceFilter {
  state?: FleetState;
  /** Certificates whose `validUntil` is before this instant (those already expired included). */
  expiringBefore?: string;
  /** An issuer DN, compared as a DN (`CN=a, O=b` is `O=b,CN=a`). */
  issuer?: string;
  hub?: string;
  cohort?: string;
  /** A finding code on the record (shared/domain/Finding.ts), or a fleet audit check's name. */
  finding?: { code: FindingCode } | { check: DeviceCheck };
}

/** Audit checks that name devices: a CA's expiry names none, so it cannot filter devices. */
export type DeviceCheck = Exclude<AuditCheck, 'ca-certificate-expiring'>;

/** The checks that compare devices with each other: the list needs a pass over the fleet first. */
export const FLEET_WIDE_CHECKS: readonly DeviceCheck[] = [
  'certificate-shared',
  'public-key-shared',
];

/** Every finding code, written out so that a code added to Finding.ts must be added here. */
const FINDING_CODES: Record<FindingCode, true> = {
  'reported-field-mismatch': true,
  'common-name-mismatch': true,
  'chain-untrusted': true,
  'not-yet-valid-when-reported': true,
  'expired-when-reported': true,
  'private-key-reported': true,
  'invalid-certificate-report': true,
  'key-not-rotated': true,
  'pem-disagrees-with-dates': true,
};

/** The query as given (CLI options, URL parameters); absent fields filter nothing. */
export interface DeviceFilterQuery {
  state?: string | undefined;
  expiringBefore?: string | undefined;
  issuer?: string | undefined;
  hub?: string | undefined;
  cohort?: string | undefined;
  finding?: string | undefined;
}

/** The filter, or what is wrong with the query (one sentence naming the field). */
export function deviceFilterFrom(
  query: DeviceFilterQuery,
): { filter: DeviceFilter } | { problem: string } {
  const filter: DeviceFilter = {};
  if (query.state !== undefined) {
    if (!(FLEET_STATES as readonly string[]).includes(query.state))
      return { problem: `state must be one of ${FLEET_STATES.join(', ')}` };
    filter.state = query.state as FleetState;
  }
  if (query.expiringBefore !== undefined) {
    const instant = dateOrInstant(query.expiringBefore);
    if (instant === undefined) {
      return {
        problem: 'expiringBefore must be a UTC date (YYYY-MM-DD) or an ISO 8601 time with a zone',
      };
    }
    filter.expiringBefore = instant;
  }
  if (query.issuer !== undefined) {
    if (query.issuer.trim() === '') return { problem: 'issuer must be a distinguished name' };
    filter.issuer = query.issuer.trim();
  }
  if (query.hub !== undefined) {
    const hub = normalizeHubName(query.hub);
    const wrong = hubNameProblem(hub);
    if (wrong) return { problem: `hub must be an IoT Hub name: it ${wrong}` };
    filter.hub = hub;
  }
  if (query.cohort !== undefined) {
    if (query.cohort.trim() === '') return { problem: 'cohort must not be empty' };
    filter.cohort = query.cohort.trim();
  }
  if (query.finding !== undefined) {
    const name = query.finding;
    if (name === 'ca-certificate-expiring')
      return { problem: 'finding ca-certificate-expiring is about CAs and names no device' };
    if (Object.hasOwn(FINDING_CODES, name)) filter.finding = { code: name as FindingCode };
    else if ((AUDIT_CHECKS as readonly string[]).includes(name))
      filter.finding = { check: name as DeviceCheck };
    else {
      const known = [
        ...AUDIT_CHECKS.filter((c) => c !== 'ca-certificate-expiring'),
        ...Object.keys(FINDING_CODES).filter(
          (c) => !(AUDIT_CHECKS as readonly string[]).includes(c),
        ),
      ];
      return { problem: `finding must be an audit check or a finding code: ${known.join(', ')}` };
    }
  }
  return { filter };
}

/**
 * Whether a device of the fleet passes the filter. `checksOf` tells which audit checks found
 * something about it (devicesWithChecks for the checks of one device; the use case adds the
 * fleet-wide ones from a first pass); it is asked only when the filter names a check.
 */
export function matchesDeviceFilter(
  record: DeviceRecord,
  filter: DeviceFilter,
  checksOf: (record: DeviceRecord) => readonly AuditCheck[],
): boolean {
  if (filter.state !== undefined && fleetStateOf(record) !== filter.state) return false;
  if (filter.hub !== undefined && record.hub !== filter.hub) return false;
  if (filter.cohort !== undefined && cohortOf(record) !== filter.cohort) return false;
  if (filter.expiringBefore !== undefined) {
    const until = record.current?.validUntil;
    if (until === undefined || Date.parse(until) >= Date.parse(filter.expiringBefore)) return false;
  }
  if (filter.issuer !== undefined) {
    const issuer = issuerOf(record);
    const same =
      filter.issuer === UNKNOWN_ISSUER || issuer === UNKNOWN_ISSUER
        ? issuer === filter.issuer
        : sameDistinguishedName(issuer, filter.issuer);
    if (!same) return false;
  }
  const finding = filter.finding;
  if (finding !== undefined) {
    if ('code' in finding) return record.findings.some((f) => f.code === finding.code);
    return checksOf(record).includes(finding.check);
  }
  return true;
}

/**
 * The audit checks that find something about this one device, by the same code as the fleet
 * audit (FleetAuditChecks); the fleet-wide sharing checks need the other devices and are not
 * among them.
 */
export function deviceChecksOf(
  record: DeviceRecord,
  at: string,
  settings: AuditCheckSettings,
): AuditCheck[] {
  const checks = new FleetAuditChecks(at, settings, []);
  checks.add(record);
  return checks.findings().map((f) => f.check);
}

/** `YYYY-MM-DD` (midnight UTC that day) or an ISO 8601 instant with a zone, as UTC ISO 8601. */
export function dateOrInstant(value: string): string | undefined {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return parseIsoInstant(`${text}T00:00:00Z`)?.toISOString();
  return parseIsoInstant(text)?.toISOString();
}
