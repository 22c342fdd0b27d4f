import { DeviceAtRisk, Rotation, RotationProgress } from '../../domain/rotation/Rotation';
import { rotationOutlook } from '../../domain/rotation/rotationOutlook';
import { RotationWorkReport } from './PlanRotation';

/**
 * A rotation as people read it (`certfleet rotation status`, `GET /api/rotations/{id}`): what was
 * declared, the plan, the progress of the last full pass over the ledger, the forecast and the
 * devices at risk; without the histogram and the per-day demand the plan keeps for itself.
 */
export interface RotationView {
  id: string;
  issuer: string;
  status: Rotation['status'];
  completeBy: string;
  slotsEndAt: string;
  declaredAt: string;
  declaredBy: { who: string; why: string };
  cancelledBy?: { who: string; why: string; at: string };
  completedAt?: string;
  /** The pass over the ledger under way (or `idle`), and how far it got. */
  work: { phase: Rotation['work']['phase']; position: number; passStartedAt?: string };
  plan?: {
    madeAt: string;
    /** Devices holding a certificate from the issuer when it was counted. */
    affected: number;
    /** Devices whose certificate names no issuer: they cannot be told. */
    unknownIssuer: number;
    /** Of the affected, those given a slot; the others renew on their own schedule in time. */
    slotted: number;
    firstSlotAt?: string;
    lastSlotAt?: string;
    peakPerMinute: number;
    /** The share of the free capacity the slots take inside the window. */
    spread: number;
    renewalsPerMinute: number;
    expiresBeforeSlot: number;
    slotAfterDeadline: number;
  };
  progress?: RotationProgress;
  /** From the progress when there is one, else from the plan. */
  forecastCompletion?: string;
  meetsDeadline?: boolean;
  remaining?: number;
  atRiskCount: number;
  atRisk: DeviceAtRisk[];
}

export function rotationView(rotation: Rotation, now: string): RotationView {
  const outlook = rotationOutlook(rotation, now);
  const plan = rotation.plan;
  const counted = rotation.work.counted;
  const view: RotationView = {
    id: rotation.id,
    issuer: rotation.issuer,
    status: rotation.status,
    completeBy: rotation.completeBy,
    slotsEndAt: rotation.slotsEndAt,
    declaredAt: rotation.declaredAt,
    declaredBy: rotation.declaredBy,
    ...(rotation.cancelledBy ? { cancelledBy: rotation.cancelledBy } : {}),
    ...(rotation.completedAt ? { completedAt: rotation.completedAt } : {}),
    work: {
      phase: rotation.work.phase,
      position: rotation.work.position,
      ...(rotation.work.passStartedAt ? { passStartedAt: rotation.work.passStartedAt } : {}),
    },
    atRiskCount: outlook?.atRiskCount ?? 0,
    atRisk: outlook?.atRisk ?? [],
  };
  if (plan) {
    view.plan = {
      madeAt: plan.start,
      affected: counted?.affected ?? plan.slotted,
      unknownIssuer: counted?.unknownIssuer ?? 0,
      slotted: plan.slotted,
      ...(plan.firstSlotAt ? { firstSlotAt: plan.firstSlotAt } : {}),
      ...(plan.lastSlotAt ? { lastSlotAt: plan.lastSlotAt } : {}),
      peakPerMinute: plan.peakPerMinute,
      spread: plan.spread,
      renewalsPerMinute: plan.renewalsPerMinute,
      expiresBeforeSlot: plan.expiresBeforeSlot,
      slotAfterDeadline: plan.slotAfterDeadline,
    };
  }
  if (rotation.progress) view.progress = rotation.progress;
  if (outlook) {
    if (outlook.forecastCompletion) view.forecastCompletion = outlook.forecastCompletion;
    view.meetsDeadline = outlook.meetsDeadline;
    view.remaining = outlook.remaining;
  }
  return view;
}

/** The view as lines of text, for the CLI. */
export function describeRotation(view: RotationView): string[] {
  const lines = [
    `rotation ${view.id}: ${view.status}${view.work.phase !== 'idle' ? ` (${phaseText(view.work)})` : ''}`,
    `  issuer       ${view.issuer}`,
    `  complete by  ${view.completeBy} (slots end ${view.slotsEndAt})`,
    `  declared     ${view.declaredAt} by ${view.declaredBy.who}: ${view.declaredBy.why}`,
  ];
  if (view.cancelledBy)
    lines.push(
      `  cancelled    ${view.cancelledBy.at} by ${view.cancelledBy.who}: ${view.cancelledBy.why}`,
    );
  if (view.completedAt) lines.push(`  completed    ${view.completedAt}`);
  const plan = view.plan;
  if (plan) {
    lines.push(
      `  plan         made ${plan.madeAt}: ${plan.affected} devices on the issuer, ${plan.slotted} given a slot` +
        (plan.slotted > 0
          ? ` from ${plan.firstSlotAt} to ${plan.lastSlotAt} (at most ${plan.peakPerMinute} a minute of ${plan.renewalsPerMinute}, ${percent(plan.spread)} of the free capacity)`
          : '') +
        `, ${plan.affected - plan.slotted} renewing on their own schedule in time` +
        (plan.unknownIssuer > 0 ? `; ${plan.unknownIssuer} devices name no issuer` : ''),
    );
  }
  const p = view.progress;
  if (p) {
    lines.push(
      `  progress     counted ${p.countedAt}: ${p.done} done (by certfleet ${p.renewedByCertfleet}, by the devices ${p.renewedByDevice}, not known ${p.renewedUnknown}), ${p.remaining} left: ` +
        `${p.scheduled} waiting for their slot, ${p.ownRenewal} for their own renewal, ${p.inCampaign} in a campaign, ${p.failed} failed, ${p.renewedSameIssuer} renewed from the same issuer` +
        (p.unknownIssuer > 0 ? `; ${p.unknownIssuer} devices name no issuer` : ''),
    );
  } else if (view.status === 'planning') {
    lines.push('  progress     counted once every device has its place');
  }
  if (view.meetsDeadline !== undefined && (view.remaining ?? 0) > 0) {
    lines.push(
      `  forecast     last device asked by ${view.forecastCompletion ?? '(none: every device left needs a person)'}: ` +
        (view.meetsDeadline ? 'meets the deadline' : 'DOES NOT MEET THE DEADLINE'),
    );
  }
  if (view.atRiskCount > 0) {
    lines.push(`  at risk      ${view.atRiskCount} devices`);
    for (const d of view.atRisk)
      lines.push(
        `    ${d.hub}/${d.deviceId}  ${d.reason}  expires ${d.validUntil}${d.plannedAt ? `, turn ${d.plannedAt}` : ''}`,
      );
    if (view.atRiskCount > view.atRisk.length)
      lines.push(`    … and ${view.atRiskCount - view.atRisk.length} more`);
  }
  return lines;
}

/** One line a rotation, for `certfleet rotation list`. */
export function describeRotationLine(view: RotationView): string {
  const left = view.remaining !== undefined ? `${view.remaining} left` : 'counting';
  const deadline =
    view.meetsDeadline === undefined ? '' : view.meetsDeadline ? ', on time' : ', AT RISK';
  return `${view.id}  ${view.status.padEnd(9)}  complete by ${view.completeBy}  ${left}${deadline}  ${view.issuer}`;
}

/** What a `work` run did, in one line (the timer's log, `certfleet rotation work`). */
export function describeRotationWork(report: RotationWorkReport): string {
  if (report.steps.length === 0) return `rotations at ${report.at}: nothing to do`;
  const steps = report.steps.map(
    (s) =>
      `${s.id} ${s.from}${s.to !== s.from ? `→${s.to}` : ''}: ${s.records} records, ${s.written} written` +
      (s.stopped ? `, stopped (${s.stopped})` : s.passEnded ? ', pass ended' : ''),
  );
  return `rotations at ${report.at}: ${steps.join('; ')}`;
}

function phaseText(work: RotationView['work']): string {
  const what = {
    count: 'counting the affected devices',
    assign: 'writing each device’s place',
    track: 'counting progress',
    clear: 'taking unused places off',
    idle: '',
  }[work.phase];
  return `${what}, ${work.position} records gone through`;
}

function percent(share: number): string {
  return share >= 0.01 || share === 0 ? `${Math.round(share * 100)}%` : '<1%';
}
