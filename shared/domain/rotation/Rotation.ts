import { AuditEntry, auditEntryId } from '../AuditEntry';
import { DAY_MS, parseIsoInstant } from '../Clock';
import { plainTextProblem } from '../plainText';
import { RenewalTiming, backoffMs } from '../renewal/RenewalTiming';
import { ExpiryHistogram } from './ExpiryHistogram';
import { RotationPlan } from './rotationPlan';

/**
 * A planned CA rotation: every certificate from one issuer must be replaced by `completeBy`
 * (a fleet's ARI, after RFC 9773's renewal information: the CA says "renew before then", and
 * renewals are spread over the window instead of all at once). certfleet gives each affected
 * device a slot in the window (shared/domain/rotation/rotationPlan.ts), writes it into the
 * device's record (DeviceRotation), and the renewal sweep asks the device when its slot comes.
 *
 * The rotation is one entity (RotationStore): its counts are a histogram by hour, never a list
 * of devices, so a fleet of a million fits.
 */
export interface Rotation {
  id: string;
  /** The issuer DN rotated away from, as declared; compared as a DN (sameDistinguishedName). */
  issuer: string;
  completeBy: string;
  declaredAt: string;
  declaredBy: { who: string; why: string };
  /**
   * `planning` while the ledger is counted and slots are written; `active` once every device has
   * its place; `completed` when no device holds a certificate from the issuer any more;
   * `cancelled` (slots are then taken off the records by the work that follows).
   */
  status: RotationStatus;
  /**
   * Slots end here: `completeBy` less a safety margin (RotationWindow), left for retries,
   * devices that were offline at their slot, and the campaigns still running at the end.
   */
  slotsEndAt: string;
  /** The work through the ledger, resumable: each timer run continues where the last stopped. */
  work: RotationWork;
  /** The plan, once the ledger is counted. */
  plan?: RotationPlan;
  /** Where the fleet stands, as the last full pass over the ledger found it. */
  progress?: RotationProgress;
  cancelledBy?: { who: string; why: string; at: string };
  completedAt?: string;
  /**
   * Audit entries of the rotation itself (declared, planned, completed, cancelled) not yet in
   * the audit trail: an outbox, as a device record has one, so none is lost in a crash.
   */
  pendingAudit: AuditEntry[];
  updatedAt: string;
}

export type RotationStatus = 'planning' | 'active' | 'completed' | 'cancelled';

/**
 * One pass over the ledger (`CertificateLedger.list`, in its order), resumable:
 * - `count`: the affected devices' expiries (a histogram), before anything is written;
 * - `assign`: each affected record is given its place (DeviceRotation) and audited;
 * - `track`: done, pending, in a campaign, failed, at risk; repeated while the rotation is active;
 * - `clear`: after a cancellation, places not yet used are taken off the records;
 * - `idle`: nothing more to do.
 */
export interface RotationWork {
  phase: 'count' | 'assign' | 'track' | 'clear' | 'idle';
  /** Records of the ledger's listing already gone through in this pass. */
  position: number;
  /** The device at `position` (the last one gone through), to notice a ledger that changed. */
  last?: { hub: string; deviceId: string };
  passStartedAt?: string;
  /** `count`: what is counted so far. */
  counted?: RotationCount;
  /** `assign` and after: places given so far in each histogram bucket, and after the last one. */
  assigned?: { perBucket: number[]; overflow: number };
  /** `track`: the tally so far. */
  tally?: RotationTally;
  /** When the last `track` pass ended (the next starts a while later: RotationSettings). */
  lastTrackedAt?: string;
}

/** What the `count` pass finds. */
export interface RotationCount {
  /** Devices with a certificate from the issuer. */
  affected: number;
  /** The latest own renewal among those that need no slot (it falls due before slots end). */
  lastOwnRenewalAt?: string;
  /** Devices that need a slot, by their certificate's expiry. */
  needSlot: ExpiryHistogram;
  /** Devices whose certificate names no issuer (they reported dates only): cannot be told. */
  unknownIssuer: number;
}

/** What the `track` pass counts, device by device (see deviceRotation.ts, rotationStanding). */
export interface RotationTally {
  /** Now holding a certificate from another issuer, after holding one from the rotated issuer. */
  done: number;
  renewedByCertfleet: number;
  renewedByDevice: number;
  /** Renewed before certfleet gave it its place: who renewed it is not known. */
  renewedUnknown: number;
  /** Still on the issuer, healthy, waiting for its slot. */
  scheduled: number;
  /** Still on the issuer, healthy, its own renewal due inside the window. */
  ownRenewal: number;
  /** Still on the issuer, a renewal campaign running. */
  inCampaign: number;
  /** Still on the issuer: its campaign gave up, or its certificate expired. */
  failed: number;
  /** Renewed, and got a certificate from the rotated issuer again. */
  renewedSameIssuer: number;
  unknownIssuer: number;
  /** The latest time certfleet plans to act for a device still on the issuer (forecast). */
  lastPlannedAt?: string;
  atRiskCount: number;
  /** The first devices at risk, at most AT_RISK_LISTED. */
  atRisk: DeviceAtRisk[];
}

export interface DeviceAtRisk {
  hub: string;
  deviceId: string;
  validUntil: string;
  /** When certfleet plans to act for it, if it does. */
  plannedAt?: string;
  reason: AtRiskReason;
}

export type AtRiskReason =
  /** Its turn (slot or own renewal) comes after its certificate expires. */
  | 'expires-before-its-turn'
  /** Its turn comes after the rotation's deadline. */
  | 'turn-after-deadline'
  /** Its campaign gave up, or its certificate expired: a person must act. */
  | 'renewal-failed'
  /** It renewed and got a certificate from the rotated issuer again: is DPS issuing from the new CA? */
  | 'renewed-from-same-issuer';

/** Devices at risk named in a rotation's status; the count says how many in all. */
export const AT_RISK_LISTED = 50;

/** The status a person reads: the tally of the last full pass, and what it forecasts. */
export interface RotationProgress extends RotationTally {
  /** When the pass that counted this ended. */
  countedAt: string;
  /** Devices still holding a certificate from the issuer. */
  remaining: number;
  /** When the last device still on the issuer is forecast to be asked (undefined: none left). */
  forecastCompletion?: string;
  /** Whether that is by `completeBy`, with no device that needs a person. */
  meetsDeadline: boolean;
}

/** How many days ahead `completeBy` may be: a year and a month, a CA's longest notice. */
export const MAX_WINDOW_DAYS = 400;
/** And how close: a day, enough for slots and a margin of retries. */
export const MIN_WINDOW_MS = DAY_MS;
/** Of the window, this last share is kept for retries (RotationWindow). */
export const MARGIN_SHARE = 0.2;

/**
 * The safety margin at the end of a window: the last 20% of it, and never less than what a
 * device asked at the last slot may need to be renewed after a few failures: the renewal's
 * deadline and the first three refusal backoffs (by default 1 h + 1 + 2 + 4 h = 8 h).
 */
export function safetyMarginMs(windowMs: number, timing: RenewalTiming): number {
  let retries = timing.requestTimeoutMs;
  for (let failures = 1; failures <= 3; failures += 1)
    retries += backoffMs(timing.refusalBackoff, failures);
  return Math.max(windowMs * MARGIN_SHARE, retries);
}

/** What a person declares (`certfleet rotation plan`, `POST /api/rotations`), as given. */
export interface RotationDeclarationInput {
  issuer?: unknown;
  completeBy?: unknown;
  who?: unknown;
  why?: unknown;
}

export interface RotationDeclaration {
  issuer: string;
  completeBy: string;
  who: string;
  why: string;
}

/** The declaration checked, or what is wrong with it: one sentence naming the field. */
export function rotationDeclarationFrom(
  input: RotationDeclarationInput,
  now: string,
): { declaration: RotationDeclaration } | { problem: string } {
  const issuer = typeof input.issuer === 'string' ? input.issuer.trim() : '';
  if (issuer === '' || issuer.length > 1024 || !/^\/?\s*[A-Za-z0-9.]+\s*=/.test(issuer))
    return {
      problem:
        'issuer must be the issuing CA\'s distinguished name, such as "CN=Contoso Issuing CA 2024, O=Contoso"',
    };
  const wrongIssuer = plainTextProblem(issuer);
  if (wrongIssuer) return { problem: `issuer must be plain text: it ${wrongIssuer}` };

  const completeBy =
    typeof input.completeBy === 'string' ? parseIsoInstant(input.completeBy) : undefined;
  if (!completeBy)
    return {
      problem: 'completeBy must be an ISO 8601 time with a zone, such as 2027-03-01T00:00:00Z',
    };
  const ahead = completeBy.getTime() - Date.parse(now);
  if (ahead < MIN_WINDOW_MS)
    return {
      problem: `completeBy must be at least a day in the future (it is ${completeBy.toISOString()}, now is ${now})`,
    };
  if (ahead > MAX_WINDOW_DAYS * DAY_MS)
    return {
      problem: `completeBy must be within ${MAX_WINDOW_DAYS} days (it is ${completeBy.toISOString()})`,
    };

  const why = typeof input.why === 'string' ? input.why.trim() : '';
  if (why === '' || why.length > 500)
    return { problem: 'why is required: a reason of at most 500 characters, for the audit trail' };
  const wrongWhy = plainTextProblem(why);
  if (wrongWhy) return { problem: `why must be plain text: it ${wrongWhy}` };

  const who = typeof input.who === 'string' ? input.who.trim() : '';
  if (who === '' || who.length > 300) return { problem: 'who must name who declares the rotation' };
  const wrongWho = plainTextProblem(who);
  if (wrongWho) return { problem: `who must be plain text: it ${wrongWho}` };

  return { declaration: { issuer, completeBy: completeBy.toISOString(), who, why } };
}

/** A new rotation, as declared at `now`: planning, its declaration audited. */
export function declaredRotation(
  declaration: RotationDeclaration,
  now: string,
  timing: RenewalTiming,
): Rotation {
  const windowMs = Date.parse(declaration.completeBy) - Date.parse(now);
  const slotsEndAt = new Date(
    Date.parse(declaration.completeBy) - safetyMarginMs(windowMs, timing),
  ).toISOString();
  const id = rotationId(declaration.issuer, now);
  const rotation: Rotation = {
    id,
    issuer: declaration.issuer,
    completeBy: declaration.completeBy,
    declaredAt: now,
    declaredBy: { who: declaration.who, why: declaration.why },
    status: 'planning',
    slotsEndAt,
    work: { phase: 'count', position: 0, passStartedAt: now },
    pendingAudit: [],
    updatedAt: now,
  };
  rotation.pendingAudit.push(
    rotationAudit(rotation, 'rotation.declared', now, {
      who: declaration.who,
      why: declaration.why,
    }),
  );
  return rotation;
}

/** `rot-20261123-1a2b3c4d`: the day it was declared, then a digest of issuer and time. */
export function rotationId(issuer: string, declaredAt: string): string {
  const day = declaredAt.slice(0, 10).replace(/-/g, '');
  return `rot-${day}-${auditEntryId(['rotation', issuer, declaredAt]).slice(0, 8)}`;
}

/** Rotation ids as rotationId makes them: anything else is refused before storage is asked. */
export function isRotationId(text: string): boolean {
  return /^rot-\d{8}-[0-9a-f]{8}$/.test(text);
}

/** Whether the rotation still has work to do or to watch. */
export function isOpen(rotation: Rotation): boolean {
  return rotation.status === 'planning' || rotation.status === 'active';
}

/**
 * An audit entry about the rotation as a whole (no device: hub and device `*`, as incidents
 * are); its id is fixed by the rotation and the type, so a retried write is written once.
 */
export function rotationAudit(
  rotation: Rotation,
  type: 'rotation.declared' | 'rotation.planned' | 'rotation.completed' | 'rotation.cancelled',
  at: string,
  extra: { who?: string; why?: string } = {},
  detail?: string,
): AuditEntry {
  const entry: AuditEntry = {
    id: auditEntryId([type, rotation.id]),
    type,
    hub: '*',
    deviceId: '*',
    occurredAt: at,
    recordedAt: at,
    rotation: {
      id: rotation.id,
      issuer: rotation.issuer,
      completeBy: rotation.completeBy,
      ...(extra.who !== undefined ? { by: extra.who } : {}),
      ...(extra.why !== undefined ? { why: extra.why } : {}),
    },
  };
  if (detail) entry.detail = detail;
  return entry;
}
