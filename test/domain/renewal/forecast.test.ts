import { PlanCandidate } from '../../../shared/domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../../shared/domain/renewal/RenewalState';
import { forecastDemand } from '../../../shared/domain/renewal/forecast';

const NOW = '2026-11-26T15:30:00.000Z';
const FAR = '2027-03-01T00:00:00.000Z';

let serial = 0;
function entry(
  actionAt: string,
  validUntil: string = FAR,
  status: RenewalStatus = 'healthy',
): PlanCandidate {
  serial += 1;
  return { hub: 'contoso-hub', deviceId: `d${serial}`, actionAt, validUntil, status };
}

function times<T>(n: number, make: () => T): T[] {
  return Array.from({ length: n }, make);
}

describe('forecastDemand', () => {
  it('has one row per UTC day from today, with the day’s capacity at the rate', () => {
    const rows = forecastDemand([], NOW, 3, 400);

    expect(rows).toEqual([
      { date: '2026-11-26', due: 0, expiring: 0, capacity: 576_000, overCapacity: false },
      { date: '2026-11-27', due: 0, expiring: 0, capacity: 576_000, overCapacity: false },
      { date: '2026-11-28', due: 0, expiring: 0, capacity: 576_000, overCapacity: false },
    ]);
  });

  it('counts renewals on the UTC day they fall due', () => {
    const rows = forecastDemand(
      [
        entry('2026-11-26T23:59:59.999Z'),
        entry('2026-11-27T00:00:00.000Z'),
        entry('2026-11-27T18:00:00.000Z'),
        entry('2026-11-28T12:00:00.000Z'),
        entry('2026-11-29T00:00:00.000Z'),
      ],
      NOW,
      3,
      400,
    );

    expect(rows.map((r) => r.due)).toEqual([1, 2, 1]);
  });

  it('counts overdue renewals on the first day', () => {
    const rows = forecastDemand(
      [entry('2026-11-20T00:00:00.000Z'), entry('2026-11-26T01:00:00.000Z')],
      NOW,
      2,
      400,
    );

    expect(rows.map((r) => r.due)).toEqual([2, 0]);
  });

  it.each<RenewalStatus>(['healthy', 'due', 'retrying', 'unreachable'])(
    'counts a device that is %s as demand',
    (status) => {
      const rows = forecastDemand([entry(NOW, FAR, status)], NOW, 1, 400);

      expect(rows[0]?.due).toBe(1);
    },
  );

  it.each<RenewalStatus>(['requested', 'failed', 'expired'])(
    'does not count a device that is %s as demand',
    (status) => {
      const rows = forecastDemand([entry(NOW, FAR, status)], NOW, 1, 400);

      expect(rows[0]?.due).toBe(0);
    },
  );

  it('counts certificates on the UTC day they expire, whatever their renewal status', () => {
    const rows = forecastDemand(
      [
        entry(NOW, '2026-11-26T20:00:00.000Z'),
        entry(NOW, '2026-11-27T00:00:00.000Z', 'requested'),
        entry(NOW, '2026-11-27T10:00:00.000Z', 'failed'),
        entry(NOW, '2026-11-28T23:00:00.000Z'),
        entry(NOW, '2026-11-29T00:00:00.000Z'),
        // Expired before today: not in the forecast.
        entry(NOW, '2026-11-25T23:59:59.999Z', 'expired'),
      ],
      NOW,
      3,
      400,
    );

    expect(rows.map((r) => r.expiring)).toEqual([1, 2, 1]);
  });

  it('flags the days whose demand exceeds the day’s capacity, and only those', () => {
    // At 1 renewal a minute a day holds 1,440.
    const rows = forecastDemand(
      [
        ...times(1441, () => entry('2026-11-27T08:00:00.000Z')),
        ...times(1440, () => entry('2026-11-28T08:00:00.000Z')),
      ],
      NOW,
      3,
      1,
    );

    expect(rows.map((r) => [r.date, r.due, r.overCapacity])).toEqual([
      ['2026-11-26', 0, false],
      ['2026-11-27', 1441, true],
      ['2026-11-28', 1440, false],
    ]);
  });

  it('flags the first day when the overdue backlog exceeds its capacity', () => {
    const rows = forecastDemand(
      times(1500, () => entry('2026-11-01T00:00:00.000Z')),
      NOW,
      2,
      1,
    );

    expect(rows.map((r) => r.overCapacity)).toEqual([true, false]);
  });

  it('forecasts nothing for no days', () => {
    expect(forecastDemand([entry(NOW)], NOW, 0, 400)).toEqual([]);
  });
});
