import { AgentRunSummary, describeAgentSummary, median } from '../../shared/local/AgentRunSummary';

const summary: AgentRunSummary = {
  hub: 'agents-hub',
  agents: 3,
  provisioned: 3,
  asked: 3,
  outcomes: { accepted: 2, timeout: 1 },
  verified: 2,
  failed: 1,
  requestToVerifiedMs: [3_400, 5_150],
  audit: { records: 17, byType: { 'certificate.first-seen': 3, 'renewal.succeeded': 2 } },
  durationMs: 61_000,
  problems: ['agent-0003: the request came to timeout'],
};

describe('the real agents’ summary', () => {
  it('says what they did apart from the simulated fleet, with the request-to-verified times', () => {
    expect(describeAgentSummary(summary).split('\n')).toEqual([
      'Real agents (MQTT/TLS, DPS over HTTPS): 3 on agents-hub, wall clock, 61.0 s',
      '  provisioned: 3 of 3 (first certificate from a CSR, in the ledger)',
      '  renewals asked: 3 (accepted 2, timeout 1); accepted 2, verified 2, failed 1',
      '  request to verified: median 4.3 s, slowest 5.2 s',
      '  audit records for them: 17 (certificate.first-seen 3, renewal.succeeded 2)',
      '  PROBLEM agent-0003: the request came to timeout',
    ]);
  });

  it('says n/a for times when no renewal was verified', () => {
    expect(describeAgentSummary({ ...summary, requestToVerifiedMs: [] })).toContain(
      'request to verified: median n/a, slowest n/a',
    );
  });

  it('takes the middle time, or the mean of the middle two', () => {
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});
