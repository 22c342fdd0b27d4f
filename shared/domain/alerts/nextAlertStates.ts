import { AlertCondition } from './AlertCondition';
import { rises } from './AlertRule';
import { AlertState, AlertTransition, alertId, alertKey, transitionId } from './AlertState';

/**
 * The alert lifecycle: given the alerts open before (`previous`) and the conditions that hold
 * at `now` for the same subjects, the alerts open now and the transitions between them.
 *
 * - a condition with no open alert raises one (a new episode, id from its start);
 * - a condition whose severity rises above the episode's peak escalates it;
 * - an open alert whose condition is gone is resolved and dropped.
 *
 * Pure and deterministic: the same inputs give the same ids, so a retried evaluation names the
 * same transitions, and one whose states were already stored raises nothing again.
 */
export function nextAlertStates(
  previous: readonly AlertState[],
  conditions: readonly AlertCondition[],
  now: string,
): { states: AlertState[]; transitions: AlertTransition[] } {
  const open = new Map(previous.map((s) => [alertKey(s), s]));
  const states: AlertState[] = [];
  const transitions: AlertTransition[] = [];
  const held = new Set<string>();

  for (const c of conditions) {
    const key = alertKey(c);
    if (held.has(key)) continue; // one condition per (scope, rule, subject)
    held.add(key);
    const before = open.get(key);
    if (!before) {
      const id = alertId(c, now);
      const state: AlertState = { ...c, id, episodeStartedAt: now, peakSeverity: c.severity };
      states.push(state);
      transitions.push(transition(state, 'raised', now));
      continue;
    }
    const escalated = rises(before.peakSeverity, c.severity);
    const state: AlertState = {
      ...c,
      id: before.id,
      episodeStartedAt: before.episodeStartedAt,
      peakSeverity: escalated ? c.severity : before.peakSeverity,
    };
    states.push(state);
    if (escalated) transitions.push(transition(state, 'escalated', now));
  }

  for (const [key, before] of open) {
    if (!held.has(key)) transitions.push(transition(before, 'resolved', now));
  }
  return { states, transitions };
}

function transition(state: AlertState, kind: AlertTransition['kind'], at: string): AlertTransition {
  const t: AlertTransition & { peakSeverity?: AlertState['peakSeverity'] } = {
    ...state,
    id: transitionId(state.id, kind, state.severity),
    alertId: state.id,
    kind,
    at,
  };
  delete t.peakSeverity;
  return t;
}
