import {
  MAX_REPORTED_BYTES,
  mergePatch,
  reportedPatchProblem,
  sectionSize,
} from '../../../shared/local/deviceEndpoint/twinPatch';

/** IoT Hub's twin rules (Learn, "Understand and use device twins in IoT Hub"), as the stand-in applies them. */
describe('reported patches under IoT Hub’s twin rules', () => {
  const nested = (depth: number): Record<string, unknown> =>
    depth === 0 ? { leaf: 'value' } : { level: nested(depth - 1) };

  it('accepts the certificate report of the device contract', () => {
    const patch = {
      certificate: {
        validFrom: '2026-02-01T00:00:00Z',
        validUntil: '2026-04-01T00:00:00Z',
        chain: ['MIIB…', 'MIIC…'],
        serialNumber: null,
      },
    };
    expect(reportedPatchProblem(patch, {})).toBeUndefined();
  });

  it('refuses what is not a JSON object', () => {
    expect(reportedPatchProblem([1], {})).toBe(
      'the reported properties patch is not a JSON object',
    );
    expect(reportedPatchProblem('text', {})).toBeDefined();
  });

  it('refuses a string over 4 KB anywhere in the patch, and takes one of exactly 4 KB', () => {
    expect(reportedPatchProblem({ a: { b: ['x'.repeat(4097)] } }, {})).toBe(
      "a.b[0] is a string of 4097 bytes, over IoT Hub's 4096",
    );
    expect(reportedPatchProblem({ pem: 'x'.repeat(4096) }, {})).toBeUndefined();
    // UTF-8 bytes, not characters: 2,049 two-byte characters are 4,098 bytes.
    expect(reportedPatchProblem({ name: 'é'.repeat(2049) }, {})).toContain('4098 bytes');
  });

  it('refuses keys with ".", "$", a space or a control character', () => {
    for (const key of ['a.b', '$version', 'a b', 'tab\there']) {
      expect(reportedPatchProblem({ [key]: 1 }, {})).toMatch(/^key /);
    }
    expect(reportedPatchProblem({ 'ok-key_1': 1 }, {})).toBeUndefined();
  });

  it('refuses objects nested deeper than 10', () => {
    expect(reportedPatchProblem(nested(10), {})).toBeUndefined();
    expect(reportedPatchProblem(nested(11), {})).toContain('deeper than IoT Hub');
  });

  it('refuses integers outside IoT Hub’s range', () => {
    expect(reportedPatchProblem({ n: 4503599627370495 }, {})).toBeUndefined();
    expect(reportedPatchProblem({ n: 4503599627370496 }, {})).toContain('integer range');
  });

  it('refuses a patch that would take the reported properties over 32 KB', () => {
    // Eight strings of 4,000 characters under one-character keys: 32,008 counted bytes.
    const current = Object.fromEntries([...'abcdefgh'].map((k) => [k, 'x'.repeat(4000)]));
    expect(sectionSize(current)).toBe(32008);
    expect(reportedPatchProblem({}, current)).toBeUndefined();
    expect(reportedPatchProblem({ i: 'x'.repeat(800) }, current)).toContain(
      `over IoT Hub's ${MAX_REPORTED_BYTES}`,
    );
    // Removing a member makes room.
    expect(reportedPatchProblem({ a: null, i: 'x'.repeat(800) }, current)).toBeUndefined();
  });

  it('counts numbers as 8 bytes and booleans as 4, and leaves out $version and $metadata', () => {
    expect(sectionSize({ n: 1, b: true, $version: 7, $metadata: { $lastUpdated: 'x' } })).toBe(
      1 + 8 + 1 + 4,
    );
  });

  it('merges as a merge patch: members left out stay, null removes, objects merge', () => {
    const current = { certificate: { validFrom: 'a', validUntil: 'b', pem: 'p' }, firmware: '1' };
    expect(
      mergePatch(current, { certificate: { validUntil: 'c', pem: null }, firmware: null }),
    ).toEqual({ certificate: { validFrom: 'a', validUntil: 'c' } });
    expect(current.certificate.pem).toBe('p');
  });
});
