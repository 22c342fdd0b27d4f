import { createHash } from 'node:crypto';
import { AlertCondition } from './AlertCondition';

/**
 * An open alert: one episode of one rule about one subject. It is raised when its condition
 * appears, escalated when the severity rises above the highest it reached, and resolved (and
 * dropped) when the condition goes; if it comes back later, that is a new episode with a new id.
 */
export interface AlertState extends AlertCondition {
  /** alertId(scope, rule, subject, episodeStartedAt): the same on every retry. */
  id: string;
  episodeStartedAt: string;
  /** The highest severity reached in the episode: escalation happens once per level. */
  peakSeverity: AlertCondition['severity'];
}

export type AlertTransitionKind = 'raised' | 'escalated' | 'resolved';

/** A change of an alert that ops hear about (unless it is rolled up into a fleet alert). */
export interface AlertTransition extends AlertCondition {
  /** Deterministic: the alert id, the kind and the severity (the idempotency key for sinks). */
  id: string;
  alertId: string;
  kind: AlertTransitionKind;
  at: string;
  episodeStartedAt: string;
}

/** The open alert a raised or escalated transition leaves (what stores keep). */
export function stateOfTransition(t: AlertTransition): AlertState {
  const { id: _transition, alertId, kind: _kind, at: _at, ...condition } = t;
  return { ...condition, id: alertId, peakSeverity: t.severity };
}

/** Where an alert is kept: one open episode per (scope, rule, subject). */
export function alertKey(a: Pick<AlertCondition, 'scope' | 'rule' | 'subject'>): string {
  return `${a.scope}\n${a.rule}\n${a.subject}`;
}

export function alertId(
  a: Pick<AlertCondition, 'scope' | 'rule' | 'subject'>,
  episodeStartedAt: string,
): string {
  return digest(`${alertKey(a)}\n${episodeStartedAt}`);
}

export function transitionId(
  alert: string,
  kind: AlertTransitionKind,
  severity: AlertCondition['severity'],
): string {
  return digest(`${alert}\n${kind}\n${kind === 'resolved' ? '' : severity}`);
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}
