import { IngestIotHubEvents } from '../../../shared/app/ingest/IngestIotHubEvents';
import { DAY_MS, HOUR_MS } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { twinUpdated } from '../../../shared/local/iotHubMessages';
import { InMemoryDeadLetters } from '../../support/memoryPorts';
import { DUE, HUB, RenewalWorld, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * A device asked to renew in one hub re-registers through DPS and is assigned to another: the
 * campaign on the old hub ends as moved, and the new hub's record carries on.
 */

const NEW_HUB = 'fabrikam-hub';
const THERMOSTAT = 'thermostat-0001';
const MOVED_AT = plus(DUE, HOUR_MS);
/** The certificate DPS issued in the new hub: 30 days from when it re-registered. */
const REPROVISIONED = {
  validFrom: '2026-11-26T12:30:00.000Z',
  validUntil: '2026-12-26T12:30:00.000Z',
};

function anIngest(
  world: RenewalWorld,
  hubs: readonly string[] = [HUB, NEW_HUB],
): IngestIotHubEvents {
  return new IngestIotHubEvents({
    ledger: world.ledger,
    audit: world.audit,
    deadLetters: new InMemoryDeadLetters(),
    inspector: new X509CertificateInspector(''),
    clock: world.clock,
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
      hubs,
    },
  });
}

/** The thermostat, asked at its due time in the old hub, reports a new certificate in the new one. */
async function aDeviceThatMovedDuringItsCampaign(hubs?: readonly string[]) {
  const world = new RenewalWorld();
  await world.given(aDeviceNamed(THERMOSTAT));
  await world.sweepAt(DUE);
  expect(world.record(THERMOSTAT).renewal?.status).toBe('requested');
  world.moveTo(plus(MOVED_AT, 60_000));
  await anIngest(world, hubs).apply([
    twinUpdated({ hub: NEW_HUB, deviceId: THERMOSTAT, at: MOVED_AT }, 2, {
      certificate: REPROVISIONED,
    }),
  ]);
  return world;
}

describe('IngestIotHubEvents when DPS assigns a device to another hub', () => {
  it('ends the old hub’s campaign as moved, with its audit record naming the new hub', async () => {
    const world = await aDeviceThatMovedDuringItsCampaign();

    const old = world.record(THERMOSTAT);
    expect(old.renewal).toMatchObject({ status: 'moved' });
    expect(old.pendingAudit).toEqual([]);
    expect(world.auditTypes(THERMOSTAT)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.moved',
    ]);
    const moved = world.trail().find((e) => e.type === 'renewal.moved');
    expect(moved).toMatchObject({ hub: HUB, detail: expect.stringContaining(NEW_HUB) });
    expect(moved?.new).toMatchObject(REPROVISIONED);
  });

  it('makes no more calls to the old hub at the next sweeps, and records no failure there', async () => {
    const world = await aDeviceThatMovedDuringItsCampaign();
    const callsBefore = world.methods.calls.length;

    for (const at of [plus(DUE, 2 * HOUR_MS), plus(DUE, DAY_MS), plus(DUE, 4 * DAY_MS)])
      await world.sweepAt(at);

    expect(world.methods.calls.slice(callsBefore)).toEqual([]);
    expect(world.auditTypes(THERMOSTAT)).not.toContain('renewal.failed');
    expect(world.auditTypes(THERMOSTAT)).not.toContain('certificate.expired');
    expect(world.record(THERMOSTAT).renewal?.status).toBe('moved');
  });

  it('keeps the new hub’s record healthy, with the new certificate', async () => {
    const world = await aDeviceThatMovedDuringItsCampaign();

    const carriesOn = world.record(THERMOSTAT, NEW_HUB);
    expect(carriesOn.renewal?.status ?? 'healthy').toBe('healthy');
    expect(carriesOn.current).toMatchObject(REPROVISIONED);
    expect(world.auditTypes({ hub: NEW_HUB, deviceId: THERMOSTAT })).toEqual([
      'certificate.first-seen',
    ]);
  });

  it('looks only in the configured hubs: a device id in a hub certfleet does not serve is left alone', async () => {
    const world = await aDeviceThatMovedDuringItsCampaign([NEW_HUB]);

    expect(world.record(THERMOSTAT).renewal).toMatchObject({ status: 'requested' });
    expect(world.auditTypes(THERMOSTAT)).not.toContain('renewal.moved');
  });
});
