/**
 * When the agent renews its certificate by itself: at `fraction` of its lifetime. Microsoft asks
 * devices to renew "when the certificate reaches a set percentage of its validity period, such
 * as 80 percent" (Learn, "Certificate renewal in Azure IoT Hub certificate management"). The
 * agent's default, 0.8, comes before certfleet's own (0.85 of the lifetime), so an agent left
 * alone renews before certfleet asks it to.
 */
export function renewalDueAt(validity: { validFrom: Date; validUntil: Date }, fraction: number) {
  const from = validity.validFrom.getTime();
  const until = validity.validUntil.getTime();
  return new Date(from + fraction * (until - from));
}

export const DEFAULT_RENEW_AT_FRACTION = 0.8;
