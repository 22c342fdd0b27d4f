import { AlertCondition } from '../alerts/AlertCondition';
import { AtRiskReason, DeviceAtRisk, Rotation, RotationProgress, RotationTally } from './Rotation';

/**
 * Where a rotation is heading: from the last full pass over the ledger (`progress`) when there
 * is one, else from the plan. The status shows it, and the `rotation-deadline-at-risk` alert
 * follows it.
 */
export interface RotationOutlook {
  /** When the last device still on the issuer is forecast to be asked; undefined: none left. */
  forecastCompletion?: string;
  remaining: number;
  /** Devices a person must act on (their campaign gave up, or they renewed from the issuer again). */
  needPerson: number;
  atRiskCount: number;
  atRisk: DeviceAtRisk[];
  /** The forecast is after the deadline, or the deadline passed with devices left. */
  missesDeadline: boolean;
  /** By the deadline, with nobody left for a person. */
  meetsDeadline: boolean;
  /** The forecast is after slots end: inside the margin kept for retries. */
  intoMargin: boolean;
}

export function rotationOutlook(rotation: Rotation, now: string): RotationOutlook | undefined {
  const progress = rotation.progress;
  if (progress) {
    const needPerson = progress.failed + progress.renewedSameIssuer;
    return outlookOf(rotation, now, {
      remaining: progress.remaining,
      needPerson,
      atRiskCount: progress.atRiskCount,
      atRisk: progress.atRisk,
      ...(progress.forecastCompletion ? { forecastCompletion: progress.forecastCompletion } : {}),
    });
  }
  const plan = rotation.plan;
  const counted = rotation.work.counted;
  if (!plan) return undefined;
  const affected = counted?.affected ?? plan.slotted;
  const forecast = latest(plan.lastSlotAt, counted?.lastOwnRenewalAt);
  return outlookOf(rotation, now, {
    remaining: affected,
    needPerson: 0,
    atRiskCount: Math.max(plan.expiresBeforeSlot, plan.slotAfterDeadline),
    atRisk: [],
    ...(forecast ? { forecastCompletion: forecast } : {}),
  });
}

function outlookOf(
  rotation: Rotation,
  now: string,
  o: Omit<RotationOutlook, 'missesDeadline' | 'meetsDeadline' | 'intoMargin'>,
): RotationOutlook {
  const late =
    (o.forecastCompletion !== undefined && o.forecastCompletion > rotation.completeBy) ||
    (now > rotation.completeBy && o.remaining > 0);
  return {
    ...o,
    missesDeadline: late,
    meetsDeadline: !late && o.needPerson === 0,
    intoMargin: o.forecastCompletion !== undefined && o.forecastCompletion > rotation.slotsEndAt,
  };
}

/**
 * The status a tally makes, once its pass over the ledger has ended: what remains, and the
 * forecast (the latest time certfleet plans to act for a device still on the issuer).
 */
export function progressOf(
  tally: RotationTally,
  countedAt: string,
  rotation: Rotation,
): RotationProgress {
  const remaining =
    tally.scheduled + tally.ownRenewal + tally.inCampaign + tally.failed + tally.renewedSameIssuer;
  const progress: RotationProgress = {
    ...tally,
    countedAt,
    remaining,
    meetsDeadline: false,
  };
  if (remaining > 0 && tally.lastPlannedAt) progress.forecastCompletion = tally.lastPlannedAt;
  if (remaining === 0) delete progress.forecastCompletion;
  const outlook = rotationOutlook({ ...rotation, progress }, countedAt);
  progress.meetsDeadline = outlook?.meetsDeadline ?? true;
  return progress;
}

/**
 * The `rotation-deadline-at-risk` fleet alert while a rotation is open: critical when the
 * forecast misses the deadline (or the deadline passed with devices left), a warning when the
 * forecast runs into the margin kept for retries or devices are at risk. No condition: the
 * alert, if open, is resolved.
 */
export function rotationConditions(rotation: Rotation, now: string): AlertCondition[] {
  if (rotation.status !== 'planning' && rotation.status !== 'active') return [];
  const outlook = rotationOutlook(rotation, now);
  if (!outlook || outlook.remaining === 0) return [];
  const late = outlook.missesDeadline;
  const warn = outlook.intoMargin || outlook.atRiskCount > 0 || outlook.needPerson > 0;
  if (!late && !warn) return [];
  const forecast = outlook.forecastCompletion ?? 'none';
  const summary = late
    ? `Rotation ${rotation.id} away from ${rotation.issuer} cannot meet its deadline ${rotation.completeBy}: ${outlook.remaining} devices left, the last forecast at ${forecast}${atRiskText(outlook)}. Raise CERTFLEET_RENEWALS_PER_MINUTE within the hub's quota, or declare a later deadline.`
    : `Rotation ${rotation.id} away from ${rotation.issuer} is at risk: ${outlook.remaining} devices left, the last forecast at ${forecast} (slots end ${rotation.slotsEndAt}, deadline ${rotation.completeBy})${atRiskText(outlook)}.`;
  return [
    {
      rule: 'rotation-deadline-at-risk',
      severity: late ? 'critical' : 'warning',
      scope: 'fleet',
      subject: `rotation ${rotation.id}`,
      summary,
      cause: `rotation=${rotation.id}`,
      count: outlook.atRiskCount > 0 ? outlook.atRiskCount : outlook.remaining,
      ...(outlook.atRisk.length > 0
        ? { sample: outlook.atRisk.slice(0, 10).map((d) => `${d.hub}/${d.deviceId}`) }
        : {}),
    },
  ];
}

function atRiskText(outlook: RotationOutlook): string {
  if (outlook.atRiskCount === 0) return '';
  const reasons = new Map<AtRiskReason, number>();
  for (const d of outlook.atRisk) reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
  const named = [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ');
  return `; ${outlook.atRiskCount} devices at risk${named ? ` (of those listed: ${named})` : ''}`;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
