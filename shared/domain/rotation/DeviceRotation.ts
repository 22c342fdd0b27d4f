/**
 * A device's place in a planned CA rotation (shared/domain/rotation/Rotation.ts), kept in its
 * ledger record (`DeviceRecord.rotation`) so that the renewal index holds it: the renewal sweep
 * only looks 12 hours ahead, and finds a device at its slot like any renewal falling due.
 */
export interface DeviceRotation {
  /** The rotation (Rotation.id). */
  id: string;
  /** The issuer rotated away from, as declared. */
  issuer: string;
  /**
   * The validUntil of the certificate the place was given for. The slot applies to that
   * certificate only: once any other arrives, it is spent. Otherwise a device that renewed from
   * the old issuer again (DPS not yet issuing from the new CA) would find its slot in the past and
   * be asked again at every sweep.
   */
  certificateValidUntil: string;
  /**
   * When certfleet asks the device to renew, unless its own renewal falls due earlier. Absent:
   * its own renewal falls inside the rotation's window, which is enough.
   */
  slotAt?: string;
  /** When that certificate was replaced, and whose doing it was (a certfleet campaign or not). */
  replacedAt?: string;
  renewedBy?: 'certfleet' | 'device';
}

/**
 * The slot that moves this record's renewal earlier, when one holds: the device is healthy (no
 * campaign) and still holds the certificate the slot was given for. Read by nextActionAt, so the
 * renewal index entry sits at the slot.
 */
export function rotationSlotOf(record: {
  rotation?: DeviceRotation;
  current?: { validUntil: string };
  renewal?: { status: string };
  lifecycle: string;
}): string | undefined {
  const rotation = record.rotation;
  if (!rotation?.slotAt || rotation.replacedAt !== undefined) return undefined;
  if (record.lifecycle !== 'active' || !record.current) return undefined;
  if ((record.renewal?.status ?? 'healthy') !== 'healthy') return undefined;
  if (record.current.validUntil !== rotation.certificateValidUntil) return undefined;
  return rotation.slotAt;
}

/**
 * The rotation a campaign starting now serves: the device's slot holds and comes before its own
 * renewal time, so the slot is why it is due. Undefined for an ordinary renewal.
 */
export function rotationCampaignOf(record: {
  rotation?: DeviceRotation;
  current?: { validUntil: string };
  renewal?: { status: string };
  renewalDueAt?: string;
  lifecycle: string;
}): string | undefined {
  const slot = rotationSlotOf(record);
  if (slot === undefined) return undefined;
  if (record.renewalDueAt !== undefined && record.renewalDueAt <= slot) return undefined;
  return record.rotation?.id;
}

/**
 * A new certificate replaced the one the device was placed for: its place has served, by
 * certfleet's campaign or by the device itself (what the rotation's status counts). Changes the
 * record in place, as the ledger's state change does; nothing when there is no such place.
 */
export function markRotationServed(
  record: { rotation?: DeviceRotation; current?: { validUntil: string } },
  occurredAt: string,
  renewedBy: 'certfleet' | 'device',
): void {
  const placed = record.rotation;
  if (!placed || placed.replacedAt !== undefined) return;
  if (record.current?.validUntil === placed.certificateValidUntil) return;
  record.rotation = { ...placed, replacedAt: occurredAt, renewedBy };
}
