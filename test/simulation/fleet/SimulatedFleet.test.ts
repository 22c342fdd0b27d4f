import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { DAY_MS, HOUR_MS, MINUTE_MS, ManualClock, isoUtc } from '../../../shared/domain/Clock';
import { RenewalRequest } from '../../../shared/domain/renewal/MethodOutcome';
import { DeviceProfile } from '../../../shared/simulation/fleet/DeviceProfile';
import {
  FleetOptions,
  defaultFleetOptions,
  planProfiles,
} from '../../../shared/simulation/fleet/FleetOptions';
import { SimulatedFleet } from '../../../shared/simulation/fleet/SimulatedFleet';
import { VirtualTime } from '../../../shared/simulation/fleet/VirtualTime';

const START = '2026-11-01T00:00:00.000Z';
const PROVISIONED = Date.parse('2026-11-01T01:00:00.000Z');
const HUB = 'sim-hub';

/** A fleet of the given devices, on 7-day leaves, nothing else going on. */
function fleetOptions(devices: Partial<DeviceProfile>[]): FleetOptions {
  const { cohort: _cohort, ...defaults } = defaultFleetOptions(7);
  return {
    ...defaults,
    start: START,
    days: 30,
    devices: 0,
    dpsOutages: [],
    manualRenewals: [],
    policies: [{ name: 'weekly', leafValidityDays: 7, share: 1 }],
    profiles: devices.map((d, i) => ({
      deviceId: `dev-${i + 1}`,
      kind: 'passive',
      provisionAt: isoUtc(PROVISIONED),
      policy: 'weekly',
      selfRenewal: 'never',
      online: { kind: 'always' },
      refusalProbability: 0,
      timeoutProbability: 0,
      failMidRenewalProbability: 0,
      reportsOnlyDates: false,
      clockOffsetMs: 0,
      reusesKeyPair: false,
      ...d,
    })),
  };
}

async function aFleet(devices: Partial<DeviceProfile>[]) {
  const clock = new ManualClock(START);
  const fleet = await SimulatedFleet.create(fleetOptions(devices), clock);
  /** Moves the clock and the devices' world to `t`, and returns what IoT Hub routed meanwhile. */
  const at = async (t: number): Promise<RawIotHubMessage[]> => {
    if (t > clock.now().getTime()) clock.set(new Date(t));
    await fleet.advanceTo(t);
    return fleet.takeMessages(t);
  };
  const ask = (deviceId: string, t: number, requestId = `r-${t}`) => {
    clock.set(new Date(t));
    const request: RenewalRequest = {
      requestId,
      reason: 'due',
      currentValidUntil: '',
      deadline: isoUtc(t + HOUR_MS),
    };
    return fleet.requestRenewal({ hub: HUB, deviceId }, request);
  };
  return { clock, fleet, at, ask };
}

const opTypes = (messages: RawIotHubMessage[]) => messages.map((m) => m.properties['opType']);
const reported = (message: RawIotHubMessage) =>
  (message.body as { properties: { reported: Record<string, unknown> } }).properties.reported;
const sequenceOf = (message: RawIotHubMessage) =>
  BigInt(`0x${(message.body as { sequenceNumber: string }).sequenceNumber}`);

describe('a simulated device', () => {
  it('is created by DPS, connects and reports its first certificate, as IoT Hub routes it', async () => {
    const { at } = await aFleet([{}]);
    const messages = await at(PROVISIONED + 5_000);

    expect(opTypes(messages)).toEqual(['createDeviceIdentity', 'deviceConnected', 'updateTwin']);
    for (const m of messages) {
      expect(m.properties).toMatchObject({ hubName: HUB, deviceId: 'dev-1' });
      expect(m.systemProperties['iothub-connection-device-id']).toBe('dev-1');
    }
    const twin = reported(messages[2]!);
    expect(twin['$version']).toBe(2);
    const certificate = twin['certificate'] as Record<string, unknown>;
    expect(Object.keys(certificate).sort()).toEqual(
      [
        'chain',
        'pem',
        'registrationId',
        'serialNumber',
        'thumbprint',
        'validFrom',
        'validUntil',
      ].sort(),
    );
    // The device contract: `pem` is the leaf alone, `chain` what DPS issued (base64 DER, leaf
    // first), and no string over IoT Hub's 4 KB limit of a twin string (AZURE-FACTS.md).
    const pems = x509.PemConverter.decode(certificate['pem'] as string);
    expect(pems).toHaveLength(1);
    const leaf = new x509.X509Certificate(pems[0]!);
    const chain = (certificate['chain'] as string[]).map(
      (der) => new x509.X509Certificate(Buffer.from(der, 'base64')),
    );
    expect(chain).toHaveLength(2);
    expect(chain[0]!.equal(leaf)).toBe(true);
    expect(leaf.subjectName.getField('CN')).toEqual(['dev-1']);
    expect(certificate['registrationId']).toBe('dev-1');
    expect(leaf.publicKey.algorithm).toMatchObject({ namedCurve: 'P-384' });
    expect(leaf.issuer).toBe(chain[1]!.subject);
    for (const text of [certificate['pem'], ...(certificate['chain'] as string[])]) {
      expect(Buffer.byteLength(text as string)).toBeLessThanOrEqual(4096);
    }
    expect(certificate['validFrom']).toBe(isoUtc(PROVISIONED));
    expect(certificate['validUntil']).toBe(isoUtc(PROVISIONED + 7 * DAY_MS));
  });

  it('asked to renew, accepts (202), and a minute later holds a new P-384 key pair and certificate it reports', async () => {
    const { at, ask, fleet } = await aFleet([{}]);
    const first = await at(PROVISIONED + 5_000);
    const askedAt = PROVISIONED + 6 * DAY_MS;

    expect(await ask('dev-1', askedAt, 'request-1')).toEqual({
      kind: 'accepted',
      status: 202,
      payload: { requestId: 'request-1' },
    });
    expect(await at(askedAt + 20_000)).toEqual([]); // not yet: it renews a minute or so later
    const renewal = await at(askedAt + 2 * MINUTE_MS);

    const device = fleet.device('dev-1')!;
    expect(device.certificates).toHaveLength(2);
    const [before, after] = device.certificates;
    expect(after!.publicKeySha256).not.toBe(before!.publicKeySha256);
    expect(after!.initiator).toEqual({ by: 'certfleet', requestId: 'request-1', reason: 'due' });
    expect(opTypes(renewal)).toEqual(['deviceDisconnected', 'deviceConnected', 'updateTwin']);
    // Reconnected with the new certificate: sequence numbers and $version go up.
    expect(sequenceOf(renewal[0]!)).toBeGreaterThan(sequenceOf(first[1]!));
    expect(sequenceOf(renewal[1]!)).toBeGreaterThan(sequenceOf(renewal[0]!));
    expect(reported(renewal[2]!)['$version']).toBe(3);
    expect((reported(renewal[2]!)['certificate'] as Record<string, string>)['thumbprint']).toBe(
      after!.thumbprintSha256,
    );
  });

  it('answers offline (404103) outside its window, and accepts inside it', async () => {
    // Online 06:00 to 08:00 UTC.
    const { at, ask } = await aFleet([
      {
        kind: 'part-time',
        online: { kind: 'daily', fromSecond: 6 * 3600, seconds: 2 * 3600 },
        provisionAt: '2026-11-01T06:30:00.000Z',
      },
    ]);
    await at(Date.parse('2026-11-01T09:00:00.000Z'));
    expect(await ask('dev-1', Date.parse('2026-11-02T09:00:00.000Z'))).toEqual({
      kind: 'offline',
      errorCode: 404103,
    });
    const connected = await at(Date.parse('2026-11-03T06:00:30.000Z'));
    expect(opTypes(connected)).toContain('deviceConnected');
    expect((await ask('dev-1', Date.parse('2026-11-03T06:01:00.000Z'))).kind).toBe('accepted');
  });

  it('refuses (409) when it is busy, and does not renew', async () => {
    const { at, ask, fleet } = await aFleet([{ kind: 'refusing', refusalProbability: 1 }]);
    await at(PROVISIONED + 5_000);
    expect(await ask('dev-1', PROVISIONED + DAY_MS)).toMatchObject({
      kind: 'refused',
      status: 409,
    });
    await at(PROVISIONED + DAY_MS + 10 * MINUTE_MS);
    expect(fleet.device('dev-1')!.certificates).toHaveLength(1);
  });

  it('accepts and then fails its re-registration when it fails mid-renewal', async () => {
    const { at, ask, fleet } = await aFleet([{ kind: 'flaky', failMidRenewalProbability: 1 }]);
    await at(PROVISIONED + 5_000);
    expect((await ask('dev-1', PROVISIONED + DAY_MS)).kind).toBe('accepted');
    expect(await at(PROVISIONED + DAY_MS + 10 * MINUTE_MS)).toEqual([]);
    const device = fleet.device('dev-1')!;
    expect(device.certificates).toHaveLength(1);
    expect(device.failures).toHaveLength(1);
    expect(['device-reset', 'csr-rejected']).toContain(device.failures[0]!.cause);
  });

  it('reports only validFrom/validUntil when it does, off by as much as its clock', async () => {
    const { at, fleet } = await aFleet([{ reportsOnlyDates: true, clockOffsetMs: 10 * MINUTE_MS }]);
    const messages = await at(PROVISIONED + 5_000);
    const held = fleet.device('dev-1')!.certificate!;
    expect(reported(messages[2]!)['certificate']).toEqual({
      validFrom: isoUtc(held.validFrom + 10 * MINUTE_MS),
      validUntil: isoUtc(held.validUntil + 10 * MINUTE_MS),
    });
  });

  it('renews by itself at 80% of the lifetime, by its own clock', async () => {
    const behind = HOUR_MS;
    const { at, fleet } = await aFleet([{ selfRenewal: 'at80', clockOffsetMs: -behind }]);
    const due = PROVISIONED + 0.8 * 7 * DAY_MS + behind;
    await at(due - MINUTE_MS);
    expect(fleet.device('dev-1')!.certificates).toHaveLength(1);
    const renewal = await at(due + 10_000);
    const device = fleet.device('dev-1')!;
    expect(device.certificates).toHaveLength(2);
    expect(device.certificate!.initiator).toEqual({ by: 'device' });
    expect(device.certificate!.issuedAt).toBe(due);
    expect(opTypes(renewal)).toContain('updateTwin');
  });

  it('drops off when its certificate expires, and one that tracks it re-provisions when back', async () => {
    const { at, fleet } = await aFleet([
      {
        kind: 'goes-dark',
        selfRenewal: 'at80',
        dark: { from: '2026-11-05T00:00:00.000Z', until: '2026-11-12T00:00:00.000Z' },
      },
    ]);
    await at(PROVISIONED + 5_000);
    const darkening = await at(Date.parse('2026-11-05T00:00:01.000Z'));
    expect(opTypes(darkening)).toEqual(['deviceDisconnected']);
    await at(Date.parse('2026-11-11T23:00:00.000Z'));
    const device = fleet.device('dev-1')!;
    expect(device.expiries).toHaveLength(1);
    expect(device.online(Date.parse('2026-11-11T23:00:00.000Z'))).toBe(false);
    const back = await at(Date.parse('2026-11-12T00:05:00.000Z'));
    expect(device.certificates).toHaveLength(2);
    expect(device.certificate!.afterExpiry).toBe(true);
    expect(opTypes(back)).toEqual(['deviceConnected', 'updateTwin']);
  });

  it('is not found (404001) before DPS has created it', async () => {
    const { ask } = await aFleet([{}]);
    expect(await ask('dev-1', PROVISIONED - MINUTE_MS)).toEqual({
      kind: 'not-found',
      errorCode: 404001,
    });
    expect((await ask('nobody', PROVISIONED + MINUTE_MS)).kind).toBe('not-found');
  });
});

describe('planning a fleet from its options', () => {
  it('gives the same devices for the same seed, and others for another', () => {
    const a = planProfiles(defaultFleetOptions(1));
    expect(planProfiles(defaultFleetOptions(1))).toEqual(a);
    expect(planProfiles(defaultFleetOptions(2))).not.toEqual(a);
  });

  it('follows the mix, and provisions the cohort within its hour', () => {
    const options = defaultFleetOptions(3);
    const profiles = planProfiles(options);
    const count = (kind: string) => profiles.filter((p) => p.kind === kind).length;
    expect(profiles).toHaveLength(options.devices + options.cohort!.size);
    expect(count('self-renewing')).toBe(Math.round(options.devices * options.mix['self-renewing']));
    expect(count('passive')).toBe(Math.round(options.devices * options.mix.passive));
    const hour = Date.parse(options.cohort!.hourStart);
    for (const p of profiles.filter((p) => p.kind === 'cohort')) {
      expect(Date.parse(p.provisionAt) - hour).toBeGreaterThanOrEqual(0);
      expect(Date.parse(p.provisionAt) - hour).toBeLessThan(HOUR_MS);
      expect(p.cohort).toBe(options.cohort!.tag);
    }
  });
});

describe('virtual time', () => {
  it('wakes concurrent sleepers one at a time, earliest first, each at its own instant', async () => {
    const clock = new ManualClock(START);
    const time = new VirtualTime(clock);
    const woke: string[] = [];
    const sleeper = async (name: string, ms: number, work: number) => {
      await time.sleep(ms);
      woke.push(`${name}@${clock.now().getTime() - Date.parse(START)}`);
      // Storage takes real milliseconds: no other sleeper may wake meanwhile.
      await time.track(() => new Promise((resolve) => setTimeout(resolve, work)));
      woke.push(`${name} done`);
    };
    await Promise.all([sleeper('c', 300, 5), sleeper('a', 100, 30), sleeper('b', 200, 10)]);
    expect(woke).toEqual(['a@100', 'a done', 'b@200', 'b done', 'c@300', 'c done']);
  });
});
