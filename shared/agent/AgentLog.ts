/**
 * One line per state change of the agent: an event name and public facts (ids, thumbprints,
 * dates, errors). Never key material: `keyFreeLog` replaces any field that looks like a private
 * key before it reaches the sink, so a mistake elsewhere cannot print one.
 */
export type AgentLogLevel = 'info' | 'warn' | 'error';

export type AgentLogFields = Record<string, string | number | boolean | undefined>;

export interface AgentLogEntry {
  level: AgentLogLevel;
  event: string;
  fields: AgentLogFields;
}

export type AgentLog = (entry: AgentLogEntry) => void;

export const REDACTED = '[redacted: key material]';

const KEY_MATERIAL = /PRIVATE KEY|BEGIN [A-Z ]*KEY/i;

export function keyFreeLog(sink: AgentLog): AgentLog {
  return (entry) => {
    const fields: AgentLogFields = {};
    for (const [name, value] of Object.entries(entry.fields)) {
      fields[name] = typeof value === 'string' && KEY_MATERIAL.test(value) ? REDACTED : value;
    }
    sink({ ...entry, fields });
  };
}

/** `2026-11-01T00:00:00.000Z info connected hub=… deviceId=…`: values with spaces quoted. */
export function formatLogLine(at: Date, entry: AgentLogEntry): string {
  const fields = Object.entries(entry.fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => {
      const text = String(value).replace(/[\r\n]+/g, ' ');
      return `${name}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`;
    });
  return [at.toISOString(), entry.level, entry.event, ...fields].join(' ');
}

export const silentLog: AgentLog = () => undefined;
