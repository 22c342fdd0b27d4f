import { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import {
  declareRotation,
  getRotation,
  listRotations,
  runRotationWork,
} from '../../functions/rotations';
import { RotationView } from '../../shared/app/rotation/RotationStatus';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, useServices } from '../../shared/services';
import { azuriteServices } from '../support/testStorage';

/**
 * The rotation functions, called as the Functions host calls them, over services on Azurite:
 * `POST /api/rotations`, `GET /api/rotations[/{id}]`, and the timer that works them through the
 * ledger.
 */
const NOW = '2026-11-23T12:00:00.000Z';
const HUB = 'contoso-hub';
const OLD_CA = 'CN=Contoso Issuing CA 2024, O=Contoso';

let services: Services;

beforeEach(async () => {
  ({ services } = azuriteServices({ now: NOW }));
  useServices(services);
  const at = '2026-06-01T00:05:00.000Z';
  const year = { validFrom: '2026-06-01T00:00:00Z', validUntil: '2027-06-01T00:00:00Z' };
  await services.ingest.apply([
    twinUpdated({ hub: HUB, deviceId: 'meter-1', at }, 2, {
      certificate: { ...year, issuer: OLD_CA },
    }),
    twinUpdated({ hub: HUB, deviceId: 'meter-2', at }, 2, {
      certificate: { ...year, validUntil: '2027-05-01T00:00:00Z', issuer: OLD_CA },
    }),
    twinUpdated({ hub: HUB, deviceId: 'pump-1', at }, 2, {
      certificate: { ...year, issuer: 'CN=Contoso Issuing CA 2026, O=Contoso' },
    }),
  ]);
});
afterEach(() => useServices(undefined));

const context = (functionName: string) =>
  new InvocationContext({ functionName, invocationId: 'test', logHandler: () => undefined });

function post(body: unknown, headers: Record<string, string> = {}): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/rotations',
    headers: { 'content-type': 'application/json', ...headers },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
  return declareRotation(request, context('declareRotation'));
}

function get(id?: string): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'GET',
    url: `http://localhost:7071/api/rotations${id !== undefined ? `/${id}` : ''}`,
    ...(id !== undefined ? { params: { id } } : {}),
  });
  return id !== undefined
    ? getRotation(request, context('getRotation'))
    : listRotations(request, context('listRotations'));
}

const errorOf = (response: HttpResponseInit) => (response.jsonBody as { error: string }).error;
const valid = {
  issuer: OLD_CA,
  completeBy: '2027-01-22T12:00:00Z',
  why: 'the 2024 issuing CA retires in February',
};

async function trailOfToday(): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of services.audit.readDate(NOW.slice(0, 10))) entries.push(entry);
  return entries;
}

describe('POST /api/rotations', () => {
  it('declares a rotation, records who declared it and why, and answers 201 with its status', async () => {
    const response = await post({ ...valid, declaredBy: 'alice@contoso.com' });

    expect(response.status).toBe(201);
    const view = response.jsonBody as RotationView;
    expect(view).toMatchObject({
      issuer: OLD_CA,
      status: 'planning',
      completeBy: '2027-01-22T12:00:00.000Z',
      declaredBy: { who: 'function key holder (claimed: alice@contoso.com)', why: valid.why },
      work: { phase: 'count', position: 0 },
    });
    const declared = (await trailOfToday()).filter((e) => e.type === 'rotation.declared');
    expect(declared).toEqual([
      expect.objectContaining({
        rotation: expect.objectContaining({
          id: view.id,
          by: 'function key holder (claimed: alice@contoso.com)',
        }),
      }),
    ]);
  });

  it.each([
    [
      'no issuer',
      { ...valid, issuer: undefined },
      /^issuer must be the issuing CA's distinguished name/,
    ],
    [
      'a deadline without a zone',
      { ...valid, completeBy: '2027-01-22' },
      /^completeBy must be an ISO 8601 time with a zone/,
    ],
    [
      'a deadline past',
      { ...valid, completeBy: '2026-01-01T00:00:00Z' },
      /^completeBy must be at least a day in the future/,
    ],
    ['no reason', { ...valid, why: '' }, /^why is required/],
    [
      'a name with a new line',
      { ...valid, declaredBy: 'alice\nbob' },
      /^"declaredBy" must be plain text/,
    ],
    ['an array', [valid], /^the body must be a JSON object/],
    ['text that is not JSON', '{"issuer": ', /^the body must be JSON/],
  ])('answers 400 for %s, saying what is wrong', async (_label, body, message) => {
    const response = await post(body);

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(message);
  });

  it('answers 413 for a body over 16 KiB', async () => {
    const response = await post({ ...valid, why: 'x'.repeat(17 * 1024) });

    expect(response.status).toBe(413);
  });

  it('answers 409 when the issuer already has an open rotation', async () => {
    const first = await post(valid);
    const second = await post({ ...valid, issuer: 'O=Contoso,CN=Contoso Issuing CA 2024' });

    expect(second.status).toBe(409);
    expect(errorOf(second)).toBe(
      `rotation ${(first.jsonBody as RotationView).id} away from ${OLD_CA} is planning: cancel it first`,
    );
  });
});

describe('GET /api/rotations and the rotation timer', () => {
  it('shows the plan and then the progress once the timer has gone through the ledger', async () => {
    const { id } = (await post(valid)).jsonBody as RotationView;
    const timer = { isPastDue: false } as Timer;

    // Three runs: the count (and the plan), the places, the first count of progress.
    for (let run = 0; run < 3; run += 1) await runRotationWork(timer, context('rotationWork'));

    const response = await get(id);
    expect(response.status).toBe(200);
    const view = response.jsonBody as RotationView;
    expect(view).toMatchObject({
      status: 'active',
      plan: { affected: 2, slotted: 2, unknownIssuer: 0 },
      progress: { scheduled: 2, remaining: 2, done: 0 },
      meetsDeadline: true,
      atRiskCount: 0,
    });
    const meter2 = await services.ledger.read({ hub: HUB, deviceId: 'meter-2' });
    // The earlier expiry gets the earlier slot.
    expect(meter2?.value.rotation?.slotAt).toBe(view.plan?.firstSlotAt);
    const list = await get();
    expect(list.jsonBody).toMatchObject({ count: 1, rotations: [{ id, status: 'active' }] });
  });

  it('answers 404 for a rotation it does not have, and 400 for what is no rotation id', async () => {
    const missing = await get('rot-20261123-00000000');
    const wrong = await get('../state');

    expect(missing.status).toBe(404);
    expect(errorOf(missing)).toBe('no rotation rot-20261123-00000000');
    expect(wrong.status).toBe(400);
    expect(errorOf(wrong)).toMatch(/^a rotation id looks like rot-/);
  });
});
