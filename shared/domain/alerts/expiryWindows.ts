import { CertificateFacts } from '../Certificate';
import { AlertSettings } from './AlertSettings';

/**
 * Where a certificate's warning and critical windows begin (ms since the epoch): the fixed
 * window before expiry or the last share of the lifetime, whichever begins later (docs/alerts.md).
 */
export function warningFrom(
  certificate: Pick<CertificateFacts, 'validFrom' | 'validUntil'>,
  settings: AlertSettings,
): number {
  return windowStart(certificate, settings.warningWindowMs, settings.warningLifetimeFraction);
}

export function criticalFrom(
  certificate: Pick<CertificateFacts, 'validFrom' | 'validUntil'>,
  settings: AlertSettings,
): number {
  return windowStart(certificate, settings.criticalWindowMs, settings.criticalLifetimeFraction);
}

function windowStart(
  certificate: Pick<CertificateFacts, 'validFrom' | 'validUntil'>,
  windowMs: number,
  lifetimeFraction: number,
): number {
  const until = Date.parse(certificate.validUntil);
  const lifetime = Math.max(0, until - Date.parse(certificate.validFrom));
  return until - Math.min(windowMs, lifetime * lifetimeFraction);
}
