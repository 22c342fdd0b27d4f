import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDevice, renewDevice } from '../../functions/devices';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { buildServices, useServices } from '../../shared/services';
import { InMemoryLedger } from '../support/memoryPorts';

/**
 * The HTTP functions under hostile input, called as the Functions host calls them, over an
 * empty in-memory ledger: every answer here is decided before the ledger is read (a device the
 * ledger does not know would answer 404), and none is a 500.
 */
const NOW = '2026-11-20T09:30:00.000Z';

beforeEach(() => {
  const services = buildServices(loadSettings({}), new ManualClock(NOW));
  useServices({ ...services, ledger: new InMemoryLedger() });
});
afterEach(() => useServices(undefined));

const context = () =>
  new InvocationContext({
    functionName: 'test',
    invocationId: 'test',
    logHandler: () => undefined,
  });

function renew(
  body: { string: string } | { bytes: Uint8Array } | undefined,
  headers: Record<string, string> = {},
  deviceId = 'pump-0001',
): Promise<HttpResponseInit> {
  return renewDevice(
    new HttpRequest({
      method: 'POST',
      url: `http://localhost:7071/api/devices/${encodeURIComponent(deviceId)}/renew`,
      params: { deviceId },
      headers: { 'content-type': 'application/json', ...headers },
      ...(body ? { body } : {}),
    }),
    context(),
  );
}

const json = (value: unknown) => ({ string: JSON.stringify(value) });
const errorOf = (response: HttpResponseInit) => (response.jsonBody as { error: string }).error;

describe('POST /api/devices/{deviceId}/renew under hostile input', () => {
  it('asks the in-memory ledger, and answers 404 for a device it does not know, when the request is sound', async () => {
    const response = await renew(json({ reason: 'rotation', requestedBy: 'ops-bot' }));

    expect(response.status).toBe(404);
  });

  it.each([
    [
      'a new line',
      'rotation\nmanual renewal of contoso-hub/valve-0004 by alice: requested',
      'U+000A',
    ],
    ['a carriage return', 'rotation\rall clear', 'U+000D'],
    ['an ANSI escape', 'rotation \u001b[2K\u001b[1Gall clear', 'U+001B'],
    ['a NUL', 'rota\u0000tion', 'U+0000'],
    ['DEL', 'rota\u007ftion', 'U+007F'],
    ['the one-character CSI of C1', 'rota\u009b2Ktion', 'U+009B'],
    ['a Unicode line separator', 'rota\u2028tion', 'U+2028'],
    ['a right-to-left override', 'rota\u202etion', 'U+202E'],
    ['a lone surrogate', 'rota\ud800tion', 'U+D800'],
  ])('answers 400 naming "reason" when it holds %s, asking nobody', async (_, reason, code) => {
    const response = await renew(json({ reason }));

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(
      new RegExp(`^"reason" must be plain text: it holds .*${code.replace('+', '\\+')}`),
    );
  });

  it.each([
    ['a new line', 'ops-bot\nalice@contoso.com'],
    ['an ANSI escape', '\u001b[32malice@contoso.com\u001b[0m'],
    ['a tab', 'ops\tbot'],
  ])('answers 400 naming "requestedBy" when it holds %s', async (_, requestedBy) => {
    const response = await renew(json({ reason: 'rotation', requestedBy }));

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(/^"requestedBy" must be plain text: it holds U\+00/);
  });

  it('answers 400 naming the header when x-ms-client-principal-name holds a control character', async () => {
    const response = await renew(json({ reason: 'rotation' }), {
      'x-ms-client-principal-name': 'alice\u001b[8m@contoso.com',
    });

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(
      /^x-ms-client-principal-name must be plain text: it holds U\+001B/,
    );
  });

  it('answers 413 for a body over 16 KiB, whether its length is declared or not', async () => {
    const big = json({ reason: 'x'.repeat(20_000) });
    const declared = await renew(big, { 'content-length': String(big.string.length) });
    const undeclared = await renew(big);
    const claimedSmall = await renew(big, { 'content-length': '40' });

    expect([declared.status, undeclared.status, claimedSmall.status]).toEqual([413, 413, 413]);
    expect(errorOf(declared)).toBe('the body must be at most 16384 bytes');
  });

  it('answers 400 for a body that is not UTF-8, rather than recording U+FFFD for what was sent', async () => {
    const body = Buffer.concat([
      Buffer.from('{"reason": "rotation '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const response = await renew({ bytes: body });

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(/^the body must be JSON/);
  });

  it.each([
    ['1,000 characters long', 'd'.repeat(1000)],
    ['with a new line in it', 'pump-0001\nforged'],
    ['with a character no IoT Hub id holds', 'pump/0001'],
    ['with the replacement character of a malformed escape', 'pump-\ufffd'],
  ])('answers 400 for a device id %s, which no device can have', async (_, deviceId) => {
    const response = await renew(json({ reason: 'rotation' }), {}, deviceId);

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(/^device id /);
  });
});

describe('GET /api/devices/{deviceId} under hostile input', () => {
  function get(deviceId: string, query = ''): Promise<HttpResponseInit> {
    return getDevice(
      new HttpRequest({
        method: 'GET',
        url: `http://localhost:7071/api/devices/x${query}`,
        params: { deviceId },
      }),
      context(),
    );
  }

  it('answers 400 for a device id or a hub that cannot be one, and 404 for one the ledger lacks', async () => {
    const long = await get('d'.repeat(1000));
    const badHub = await get('pump-0001', `?hub=${'h'.repeat(300)}`);
    const missing = await get('pump-0001', '?hub=contoso-hub');

    expect([long.status, badHub.status, missing.status]).toEqual([400, 400, 404]);
    expect(errorOf(long)).toBe('device id is 1000 characters, over the 128 IoT Hub allows');
    expect(errorOf(badHub)).toMatch(/^hub name is 300 characters/);
  });
});
