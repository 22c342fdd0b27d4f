import {
  accepted,
  alreadyRenewing,
  malformed,
  parseRenewalRequest,
} from '../../shared/agent/RenewalRequest';

// docs/device-contract.md, "Renewal requests: the `renewCertificate` direct method".
describe("reading certfleet's renewCertificate request", () => {
  const request = {
    requestId: '5f0c8e1d2a9b4c7e8f6a1b2c3d4e5f60',
    reason: 'due',
    currentValidUntil: '2026-12-01T00:00:00.000Z',
    deadline: '2026-11-26T14:00:00.000Z',
  };

  it('reads the request id, reason, current expiry and deadline', () => {
    expect(parseRenewalRequest(request)).toEqual({
      ok: true,
      request: {
        requestId: request.requestId,
        reason: 'due',
        currentValidUntil: new Date('2026-12-01T00:00:00.000Z'),
        deadline: new Date('2026-11-26T14:00:00.000Z'),
      },
    });
  });

  it.each(['due', 'capacity', 'retry', 'manual', 'device-connected', 'rotation'])(
    'knows the reason %s',
    (reason) => {
      const parsed = parseRenewalRequest({ ...request, reason });
      expect(parsed.ok && parsed.request.reason).toBe(reason);
    },
  );

  it('reads a reason it does not know, or none, as due', () => {
    const unknown = parseRenewalRequest({ ...request, reason: 'quarterly-audit' });
    expect(unknown.ok && unknown.request.reason).toBe('due');
    const none = parseRenewalRequest({ requestId: 'r-1' });
    expect(none.ok && none.request.reason).toBe('due');
  });

  it.each([
    ['no payload', undefined],
    ['a string', 'renew please'],
    ['an array', [request]],
    ['no request id', { reason: 'due' }],
    ['an empty request id', { requestId: '  ' }],
    ['a numeric request id', { requestId: 42 }],
    ['a request id with a line break', { requestId: 'a\nb' }],
    ['a request id over 128 characters', { requestId: 'r'.repeat(129) }],
    ['a reason that is not text', { requestId: 'r-1', reason: 7 }],
    ['a deadline without a zone', { requestId: 'r-1', deadline: '2026-11-26T14:00:00' }],
    ['a current expiry that is not a time', { requestId: 'r-1', currentValidUntil: 'soon' }],
  ])('finds a request with %s malformed', (_what, payload) => {
    expect(parseRenewalRequest(payload).ok).toBe(false);
  });

  it('keeps the request id of a malformed request that has one, to echo it', () => {
    const parsed = parseRenewalRequest({ requestId: 'r-1', deadline: 'tomorrow' });
    expect(parsed).toEqual({
      ok: false,
      requestId: 'r-1',
      problem: 'deadline must be an ISO 8601 time with a zone',
    });
  });
});

describe("the agent's answers", () => {
  it('accepts with 202, echoing the request id', () => {
    expect(accepted('r-1')).toEqual({
      status: 202,
      payload: { requestId: 'r-1', status: 'accepted' },
    });
  });

  it('refuses with 409 while already renewing', () => {
    expect(alreadyRenewing('r-1').status).toBe(409);
    expect(alreadyRenewing('r-1').payload['requestId']).toBe('r-1');
  });

  it('refuses a malformed request with 400, naming the problem', () => {
    expect(malformed('requestId must be a non-empty string')).toEqual({
      status: 400,
      payload: { status: 'malformed', problem: 'requestId must be a non-empty string' },
    });
  });
});
