import { DAY_MS, HOUR_MS } from '../Clock';

/**
 * How many devices' certificates expire in each bucket of time: `[bucket, count]` pairs,
 * ascending by bucket, none empty. A bucket is a number of hours since the epoch: one hour
 * wide up to FINE_DAYS after `from`, one day wide after that (ordering among devices that
 * expire that late matters less, and the histogram stays small), and one bucket for all
 * beyond COARSE_DAYS. So a million devices take at most some 13,000 pairs, whatever their
 * expiries: it fits in one stored entity.
 */
export type ExpiryHistogram = [bucket: number, count: number][];

const FINE_DAYS = 400;
const COARSE_DAYS = 4000;

/** The bucket of an expiry, with buckets measured from `from` (an ISO time). */
export function expiryBucket(validUntil: string, from: string): number {
  const at = Date.parse(validUntil);
  const start = Date.parse(from);
  const hours = Math.floor(at / HOUR_MS);
  if (at < start + FINE_DAYS * DAY_MS) return hours;
  if (at < start + COARSE_DAYS * DAY_MS) return Math.floor(at / DAY_MS) * 24;
  return Math.floor((start + COARSE_DAYS * DAY_MS) / DAY_MS) * 24;
}

/** The earliest instant of a bucket, as ISO 8601. */
export function bucketStart(bucket: number): string {
  return new Date(bucket * HOUR_MS).toISOString();
}

/** Adds one device in place: for the count pass, which builds a histogram a record at a time. */
export function addDevice(histogram: ExpiryHistogram, bucket: number): void {
  const i = lowerBound(histogram, bucket);
  const found = histogram[i];
  if (found && found[0] === bucket) found[1] += 1;
  else histogram.splice(i, 0, [bucket, 1]);
}

/** The index of `bucket` in the histogram, or -1. */
export function bucketIndex(histogram: ExpiryHistogram, bucket: number): number {
  const i = lowerBound(histogram, bucket);
  return histogram[i]?.[0] === bucket ? i : -1;
}

export function totalOf(histogram: ExpiryHistogram): number {
  return histogram.reduce((sum, [, count]) => sum + count, 0);
}

/** For each bucket, how many devices come before it: the first rank in it. */
export function firstRanks(histogram: ExpiryHistogram): number[] {
  const ranks: number[] = [];
  let before = 0;
  for (const [, count] of histogram) {
    ranks.push(before);
    before += count;
  }
  return ranks;
}

function lowerBound(histogram: ExpiryHistogram, bucket: number): number {
  let lo = 0;
  let hi = histogram.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (histogram[mid]![0] < bucket) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
