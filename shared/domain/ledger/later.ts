// Which of two UTC ISO 8601 timestamps is later (they compare as text); a device's last-seen
// time only moves forward.

export function later(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}
