import { DAY_MS } from '../Clock';
import { NEEDS_REQUEST, PlanCandidate } from './CapacityPlanner';

export interface ForecastDay {
  date: string;
  /** Renewal requests falling due that day. */
  due: number;
  /** Certificates expiring that day. */
  expiring: number;
  capacity: number;
  overCapacity: boolean;
}

/**
 * Renewal demand per UTC day against capacity (the renewal rate over a day), so ops see a
 * cohort or an issuing-CA rotation coming before it arrives. Overdue renewals count on the
 * first day.
 */
export function forecastDemand(
  entries: readonly (PlanCandidate & { renewalAt?: string })[],
  now: string,
  days: number,
  renewalsPerMinute: number,
): ForecastDay[] {
  const start = Date.parse(`${now.slice(0, 10)}T00:00:00.000Z`);
  const capacity = renewalsPerMinute * 24 * 60;
  const rows: ForecastDay[] = Array.from({ length: days }, (_, i) => ({
    date: new Date(start + i * DAY_MS).toISOString().slice(0, 10),
    due: 0,
    expiring: 0,
    capacity,
    overCapacity: false,
  }));
  const dayIndex = (iso: string) => Math.floor((Date.parse(iso) - start) / DAY_MS);
  for (const e of entries) {
    if (NEEDS_REQUEST.includes(e.status)) {
      // The renewal's own time: an index entry may come earlier for an alert check.
      const i = Math.max(0, dayIndex(e.renewalAt ?? e.actionAt));
      if (i < days) rows[i]!.due += 1;
    }
    const j = dayIndex(e.validUntil);
    if (j >= 0 && j < days) rows[j]!.expiring += 1;
  }
  for (const row of rows) row.overCapacity = row.due > row.capacity;
  return rows;
}
