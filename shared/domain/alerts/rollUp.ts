import { AlertCondition } from './AlertCondition';
import { higherSeverity } from './AlertRule';
import { AlertSettings } from './AlertSettings';

/**
 * Many devices, one cause, one message: when a rule holds for at least
 * `settings.rollUpThreshold` devices with the same cause (issuer, cohort and expiry day), they
 * become one fleet condition with the count and a sample of device ids. The device conditions
 * are kept, marked `rolledUpInto` the fleet alert's subject, so their alerts are tracked (and
 * resolve one by one) without being sent one by one.
 *
 * Fleet conditions go through nextAlertStates like device ones: a fleet alert is raised once,
 * escalates when any of its devices turns critical, and resolves when fewer than the threshold
 * remain (the rest are then sent as device alerts).
 */
export function rollUp(
  conditions: readonly AlertCondition[],
  settings: AlertSettings,
): { fleet: AlertCondition[]; devices: AlertCondition[] } {
  const groups = new Map<string, AlertCondition[]>();
  for (const c of conditions) {
    if (c.scope !== 'device') continue;
    const key = fleetSubject(c);
    const group = groups.get(key);
    if (group) group.push(c);
    else groups.set(key, [c]);
  }

  const fleet: AlertCondition[] = [];
  const rolledUp = new Map<AlertCondition, string>();
  for (const [subject, group] of groups) {
    const devices = new Set(group.map((c) => c.subject));
    if (devices.size < settings.rollUpThreshold) continue;
    const first = group[0]!;
    const sample = [...devices].sort().slice(0, settings.rollUpSampleSize);
    const severity = group.map((c) => c.severity).reduce(higherSeverity);
    const earliest = group
      .map((c) => c.validUntil)
      .filter((v): v is string => v !== undefined)
      .sort()[0];
    const f: AlertCondition = {
      rule: first.rule,
      severity,
      scope: 'fleet',
      subject,
      summary: `${devices.size} devices: ${first.rule} (${describeCause(first.cause)}).`,
      cause: first.cause,
      count: devices.size,
      sample,
    };
    if (earliest !== undefined) f.validUntil = earliest;
    fleet.push(f);
    for (const c of group) rolledUp.set(c, subject);
  }

  const devices = conditions.map((c) => {
    const into = rolledUp.get(c);
    return into === undefined ? c : { ...c, rolledUpInto: into };
  });
  return { fleet, devices };
}

/** A fleet alert is about one rule and one cause: the subject device alerts group under. */
export function fleetSubject(c: AlertCondition): string {
  return `${c.rule};${c.cause}`;
}

function describeCause(cause: string): string {
  const parts = cause
    .split(';')
    .map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)])
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name} ${value}`);
  return parts.length > 0 ? parts.join(', ') : 'one cause';
}
