import { AuditEntry, auditEntryId } from '../AuditEntry';
import { certificateIdentity, sameDistinguishedName } from '../Certificate';
import { DeviceRecord } from '../DeviceRecord';
import { UNKNOWN_ISSUER, inFleet } from '../reports/fleetState';
import { nextRenewalActionAt } from '../renewal/nextActionAt';
import { renewalOf } from '../renewal/renewalTransitions';
import { AtRiskReason } from './Rotation';

/**
 * What a rotation decides about one device's record, a record at a time: whether it is
 * affected, its place (DeviceRotation), and where it stands. Pure; the use case
 * (shared/app/rotation/PlanRotation.ts) reads and writes the records.
 */

/** The part of a rotation a device's decision needs. */
export interface RotationScope {
  id: string;
  issuer: string;
  declaredAt: string;
  slotsEndAt: string;
  completeBy: string;
}

/**
 * The issuer of the device's current certificate, as the reports name it: `unknown` when it
 * reported none (dates only): such a device cannot be told to be affected or not.
 */
function issuerOfCurrent(record: DeviceRecord): string {
  return record.current?.issuer?.trim() || UNKNOWN_ISSUER;
}

/**
 * Whether the record is one of the fleet's devices and holds a certificate from `issuer`,
 * compared as a DN (the same comparison as the reports' `issuer` filter).
 */
export function holdsCertificateFrom(record: DeviceRecord, issuer: string): boolean {
  if (!inFleet(record) || !record.current) return false;
  const held = issuerOfCurrent(record);
  return held !== UNKNOWN_ISSUER && sameDistinguishedName(held, issuer);
}

/** A device of the fleet whose certificate names no issuer. */
export function issuerUnknown(record: DeviceRecord): boolean {
  return inFleet(record) && !!record.current && issuerOfCurrent(record) === UNKNOWN_ISSUER;
}

/**
 * Whether an affected device needs a slot: it has no campaign running and its own renewal falls
 * due when slots have ended (or it has none). A device renewing now, given up on, or due inside
 * the window is renewed (or not) without one.
 */
export function needsSlot(record: DeviceRecord, slotsEndAt: string): boolean {
  if (renewalOf(record).status !== 'healthy' || !record.current) return false;
  const own = record.renewalDueAt ?? record.current.validUntil;
  return own >= slotsEndAt;
}

/** What placing a device decided. */
export type Placement =
  | { kind: 'placed'; slotAt?: string }
  /** Placed already, for this certificate. */
  | { kind: 'already'; slotAt?: string }
  /** Placed for an earlier certificate, and renewed from the same issuer since. */
  | { kind: 'renewed-same-issuer' }
  | { kind: 'not-affected' };

/**
 * Gives an affected device its place in the rotation: its slot when it needs one (`slotFor`
 * is asked only then, once), or none when its own renewal is enough; with an audit entry
 * (`rotation.scheduled`) saying which. A device placed for an earlier certificate that has
 * renewed from the same issuer since is not placed again: its slot has been used, and asking it
 * again would only repeat what DPS did (the rotation's status names it).
 */
export function placeInRotation(
  record: DeviceRecord,
  rotation: RotationScope,
  slotFor: () => string,
  now: string,
): { next?: DeviceRecord; placement: Placement } {
  const current = record.current;
  if (!current || !holdsCertificateFrom(record, rotation.issuer))
    return { placement: { kind: 'not-affected' } };
  const placed = record.rotation;
  if (placed?.id === rotation.id) {
    if (placed.certificateValidUntil === current.validUntil)
      return {
        placement: { kind: 'already', ...(placed.slotAt ? { slotAt: placed.slotAt } : {}) },
      };
    return { placement: { kind: 'renewed-same-issuer' } };
  }
  const slotAt = needsSlot(record, rotation.slotsEndAt) ? slotFor() : undefined;
  const next = structuredClone(record);
  next.rotation = {
    id: rotation.id,
    issuer: rotation.issuer,
    certificateValidUntil: current.validUntil,
    ...(slotAt ? { slotAt } : {}),
  };
  next.updatedAt = now;
  const entry: AuditEntry = {
    id: auditEntryId([
      'rotation.scheduled',
      rotation.id,
      record.hub,
      record.deviceId,
      current.validUntil,
    ]),
    type: 'rotation.scheduled',
    hub: record.hub,
    deviceId: record.deviceId,
    occurredAt: now,
    recordedAt: now,
    old: certificateIdentity(current),
    rotation: { id: rotation.id, ...(slotAt ? { slotAt } : {}) },
    detail: slotAt
      ? `asked to renew at ${slotAt}, unless its own renewal (${record.renewalDueAt ?? 'none'}) comes first`
      : renewalOf(record).status === 'healthy'
        ? `its own renewal at ${record.renewalDueAt ?? current.validUntil} falls inside the rotation's window`
        : `its renewal is ${renewalOf(record).status}: no slot`,
  };
  next.pendingAudit.push(entry);
  return { next, placement: { kind: 'placed', ...(slotAt ? { slotAt } : {}) } };
}

/**
 * Takes a cancelled rotation's place off the record, unless it has served (its certificate was
 * replaced: that stays for the status and the history). Undefined when there is nothing to take.
 */
export function leaveRotation(
  record: DeviceRecord,
  rotationId: string,
  now: string,
): DeviceRecord | undefined {
  if (record.rotation?.id !== rotationId || record.rotation.replacedAt !== undefined)
    return undefined;
  const next = structuredClone(record);
  delete next.rotation;
  next.updatedAt = now;
  return next;
}

/** Where one device stands in a rotation, as its status counts it. */
export type RotationStanding =
  | { kind: 'not-affected' }
  | { kind: 'unknown-issuer' }
  | { kind: 'done'; renewedBy: 'certfleet' | 'device' | 'unknown' }
  /** Still on the issuer and has no place yet (new to the fleet, or its place was lost). */
  | { kind: 'unplaced' }
  | { kind: 'renewed-same-issuer'; atRisk: AtRiskReason }
  | { kind: 'failed'; atRisk: AtRiskReason }
  | {
      kind: 'scheduled' | 'own-renewal' | 'in-campaign';
      plannedAt?: string;
      atRisk?: AtRiskReason;
    };

/**
 * Where the device stands. Done: it now holds a certificate from another issuer, and held one
 * from the rotated issuer during the rotation (it was placed, or its previous certificate was
 * from that issuer and the current one arrived after the declaration): whoever renewed it.
 */
export function rotationStanding(record: DeviceRecord, rotation: RotationScope): RotationStanding {
  const current = record.current;
  if (!inFleet(record) || !current) return { kind: 'not-affected' };
  const placed = record.rotation?.id === rotation.id ? record.rotation : undefined;
  if (!holdsCertificateFrom(record, rotation.issuer)) {
    // A certificate that names no issuer counts as done only when it replaced the one placed.
    if (issuerOfCurrent(record) === UNKNOWN_ISSUER)
      return placed?.replacedAt !== undefined
        ? { kind: 'done', renewedBy: placed.renewedBy ?? 'unknown' }
        : { kind: 'unknown-issuer' };
    if (placed) return { kind: 'done', renewedBy: placed.renewedBy ?? 'unknown' };
    const previous = record.previous?.issuer?.trim();
    const movedOff =
      previous !== undefined &&
      previous !== '' &&
      sameDistinguishedName(previous, rotation.issuer) &&
      current.firstSeenAt >= rotation.declaredAt;
    return movedOff ? { kind: 'done', renewedBy: 'unknown' } : { kind: 'not-affected' };
  }
  if (!placed) return { kind: 'unplaced' };
  if (placed.certificateValidUntil !== current.validUntil)
    return { kind: 'renewed-same-issuer', atRisk: 'renewed-from-same-issuer' };
  const status = renewalOf(record).status;
  if (status === 'failed' || status === 'expired')
    return { kind: 'failed', atRisk: 'renewal-failed' };
  const kind =
    status !== 'healthy'
      ? 'in-campaign'
      : placed.slotAt !== undefined &&
          (record.renewalDueAt === undefined || placed.slotAt < record.renewalDueAt)
        ? 'scheduled'
        : 'own-renewal';
  // The renewal's own next time, before nextRenewalActionAt caps it at the expiry: a turn
  // after the expiry is what makes a device at risk.
  const plannedAt =
    kind === 'scheduled'
      ? placed.slotAt
      : kind === 'own-renewal'
        ? (record.renewalDueAt ?? current.validUntil)
        : nextRenewalActionAt(record);
  if (plannedAt === undefined) return { kind };
  const atRisk: AtRiskReason | undefined =
    plannedAt >= current.validUntil
      ? 'expires-before-its-turn'
      : plannedAt > rotation.completeBy
        ? 'turn-after-deadline'
        : undefined;
  return { kind, plannedAt, ...(atRisk ? { atRisk } : {}) };
}
