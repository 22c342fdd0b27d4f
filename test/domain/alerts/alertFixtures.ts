import { DAY_MS, HOUR_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { AlertCondition } from '../../../shared/domain/alerts/AlertCondition';
import { AlertState, AlertTransition } from '../../../shared/domain/alerts/AlertState';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { deviceConditions } from '../../../shared/domain/alerts/deviceConditions';
import { nextAlertStates } from '../../../shared/domain/alerts/nextAlertStates';
import { aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * The alert tests' fixed dates, those of test/support/renewalWorld.ts: a 30-day certificate
 * valid 1 November to 1 December 2026 UTC, renewal due on 26 November at 12:00. With the
 * default settings its warning window is its last 1/8 (3.75 days: from 27 November 06:00), its
 * critical window its last 3 days (from 28 November 00:00).
 */
export const WARNING_FROM = '2026-11-27T06:00:00.000Z';
export const CRITICAL_FROM = '2026-11-28T00:00:00.000Z';
export const OVERDUE_FROM = '2026-11-27T12:00:00.000Z';
export { DAY_MS, HOUR_MS, plus };

/** A device that is connected and heard from lately: only its certificate can alert. */
export function aQuietDevice(
  deviceId = 'thermostat-0001',
  options: Parameters<typeof aDeviceNamed>[1] & { issuer?: string; cohort?: string } = {},
): DeviceRecord {
  const record = aDeviceNamed(deviceId, options);
  record.connection = { state: 'connected', changedAt: '2026-11-20T00:00:00.000Z' };
  record.lastSeenAt = '2026-11-20T00:00:00.000Z';
  if (options.issuer !== undefined && record.current) record.current.issuer = options.issuer;
  if (options.cohort !== undefined) record.cohort = options.cohort;
  return record;
}

/** `rule:severity` for each condition the record is in at `now`, with the default settings. */
export function alertsOf(record: DeviceRecord, now: string): string[] {
  return deviceConditions(record, now, DEFAULT_ALERT_SETTINGS).map(
    (c) => `${c.rule}:${c.severity}`,
  );
}

/** `kind rule:severity` of each transition. */
export function described(transitions: readonly AlertTransition[]): string[] {
  return transitions.map((t) => `${t.kind} ${t.rule}:${t.severity}`);
}

/**
 * Drives one device's alerts through time: at each instant, the record `at(now)` gives is
 * evaluated and its alerts moved on; returns every transition, in order.
 */
export function driveThrough(
  instants: readonly string[],
  at: (now: string) => DeviceRecord,
  start: AlertState[] = [],
): { transitions: AlertTransition[]; states: AlertState[] } {
  let states = start;
  const transitions: AlertTransition[] = [];
  for (const now of instants) {
    const conditions: AlertCondition[] = deviceConditions(at(now), now, DEFAULT_ALERT_SETTINGS);
    const next = nextAlertStates(states, conditions, now);
    states = next.states;
    transitions.push(...next.transitions);
  }
  return { transitions, states };
}

/** Every `stepMs` from `from` up to and including `to`. */
export function every(stepMs: number, from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepMs)
    out.push(new Date(t).toISOString());
  return out;
}
