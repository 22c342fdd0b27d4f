/**
 * What the real agents did in `npm start -- --agents N`, counted apart from the simulated fleet:
 * each agent is a device program on the Azure IoT device SDK, provisioned through the stand-in
 * DPS over HTTPS and connected over MQTT on TLS, that certfleet asks to renew once.
 */
export interface AgentRunSummary {
  /** The hub the agents' devices are in (one of their own, apart from the simulated fleet's). */
  hub: string;
  agents: number;
  /** Agents whose first certificate, issued by DPS from their CSR, is in certfleet's ledger. */
  provisioned: number;
  /** Renewal requests certfleet made (the direct method called). */
  asked: number;
  /** What the requests came to: the method's outcome, or why none was made (`queued`, `expired`). */
  outcomes: Partial<Record<string, number>>;
  /** Renewals the ledger counts as done: the new certificate reported and the campaign healthy. */
  verified: number;
  /** Agents asked whose renewal was not verified in time. */
  failed: number;
  /** From each request to its renewal verified in the ledger, in milliseconds, shortest first. */
  requestToVerifiedMs: number[];
  /** Audit records of the agents' devices, by type. */
  audit: { records: number; byType: Partial<Record<string, number>> };
  /** The agents phase from the first stand-in started to the last renewal verified. */
  durationMs: number;
  /** What went wrong, one line an agent, naming it. */
  problems: string[];
}

/** The median of numbers sorted shortest first (of an even count, the mean of the middle two). */
export function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The summary as a block for a terminal, under the simulated fleet's. */
export function describeAgentSummary(s: AgentRunSummary): string {
  const counts = (record: Partial<Record<string, number>>) => {
    const parts = Object.entries(record)
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([k, n]) => `${k} ${n}`);
    return parts.length > 0 ? parts.join(', ') : 'none';
  };
  const seconds = (ms: number | undefined) =>
    ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`;
  const times = s.requestToVerifiedMs;
  const lines = [
    `Real agents (MQTT/TLS, DPS over HTTPS): ${s.agents} on ${s.hub}, wall clock, ${seconds(s.durationMs)}`,
    `  provisioned: ${s.provisioned} of ${s.agents} (first certificate from a CSR, in the ledger)`,
    `  renewals asked: ${s.asked} (${counts(s.outcomes)}); accepted ${s.outcomes['accepted'] ?? 0}, verified ${s.verified}, failed ${s.failed}`,
    `  request to verified: median ${seconds(median(times))}, slowest ${seconds(times.at(-1))}`,
    `  audit records for them: ${s.audit.records} (${counts(s.audit.byType)})`,
    ...s.problems.map((p) => `  PROBLEM ${p}`),
  ];
  return lines.join('\n');
}
