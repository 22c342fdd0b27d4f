import { DAY_MS, HOUR_MS } from '../../shared/domain/Clock';
import { FLEET_RUN_TAIL_MS, fleetEndingBefore } from '../../shared/local/fleetWindow';
import { defaultFleetOptions } from '../../shared/simulation/fleet';
import { FleetOptions } from '../../shared/simulation/fleet/FleetOptions';

const fleet = defaultFleetOptions(1); // 2026-11-01 for 90 days: ends 2027-01-30T00:00Z
const endOf = (o: FleetOptions) => Date.parse(o.start) + o.days * DAY_MS;

describe('the simulated fleet’s days, moved to end before the real agents’ wall clock', () => {
  it('are moved back by whole days, as few as end the run an hour before now', () => {
    const now = new Date('2026-12-02T08:42:00.000Z');

    const moved = fleetEndingBefore(fleet, now);

    expect(moved.start).toBe('2026-09-03T00:00:00.000Z');
    expect(endOf(moved)).toBeLessThanOrEqual(now.getTime() - FLEET_RUN_TAIL_MS);
    expect(endOf(moved)).toBeGreaterThan(now.getTime() - FLEET_RUN_TAIL_MS - DAY_MS);
  });

  it('move every date of the fleet by the same days, so its history is the same', () => {
    const moved = fleetEndingBefore(fleet, new Date('2026-12-02T08:42:00.000Z'));
    const shift = Date.parse(moved.start) - Date.parse(fleet.start);

    expect(Number.isInteger(shift / DAY_MS)).toBe(true);
    expect(Date.parse(moved.cohort!.hourStart) - Date.parse(fleet.cohort!.hourStart)).toBe(shift);
    expect(Date.parse(moved.dpsOutages[0]!.from) - Date.parse(fleet.dpsOutages[0]!.from)).toBe(
      shift,
    );
    expect(Date.parse(moved.dpsOutages[0]!.until) - Date.parse(fleet.dpsOutages[0]!.until)).toBe(
      shift,
    );
    expect(Date.parse(moved.manualRenewals[0]!.at) - Date.parse(fleet.manualRenewals[0]!.at)).toBe(
      shift,
    );
    expect({ ...moved, start: 0, cohort: 0, dpsOutages: 0, manualRenewals: 0 }).toEqual({
      ...fleet,
      start: 0,
      cohort: 0,
      dpsOutages: 0,
      manualRenewals: 0,
    });
  });

  it('move devices given one by one, their darkness too', () => {
    const given: FleetOptions = {
      ...fleet,
      profiles: [
        {
          deviceId: 'dev-1',
          kind: 'goes-dark',
          provisionAt: '2026-11-02T10:00:00.000Z',
          policy: 'short',
          selfRenewal: 'at80',
          online: { kind: 'always' },
          refusalProbability: 0,
          timeoutProbability: 0,
          failMidRenewalProbability: 0,
          reportsOnlyDates: false,
          clockOffsetMs: 0,
          reusesKeyPair: false,
          dark: { from: '2026-11-10T00:00:00.000Z', until: '2026-11-20T00:00:00.000Z' },
        },
      ],
    };

    const moved = fleetEndingBefore(given, new Date('2027-01-30T00:30:00.000Z'));

    expect(moved.profiles![0]).toMatchObject({
      provisionAt: '2026-11-01T10:00:00.000Z',
      dark: { from: '2026-11-09T00:00:00.000Z', until: '2026-11-19T00:00:00.000Z' },
    });
  });

  it('stay where they are when the run already ends an hour before now', () => {
    expect(fleetEndingBefore(fleet, new Date(endOf(fleet) + HOUR_MS))).toBe(fleet);
    expect(fleetEndingBefore(fleet, new Date(endOf(fleet) + 60 * DAY_MS))).toBe(fleet);
  });
});
