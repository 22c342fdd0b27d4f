import { DAY_MS, HOUR_MS } from '../Clock';

/** When the alert rules fire, and when many device alerts become one fleet alert. */
export interface AlertSettings {
  /** certificate-expiring warns this long before validUntil… */
  warningWindowMs: number;
  /** …or in this last share of the lifetime, whichever starts later. */
  warningLifetimeFraction: number;
  /** certificate-expiring is critical this long before validUntil… */
  criticalWindowMs: number;
  /** …or in this last share of the lifetime, whichever starts later. */
  criticalLifetimeFraction: number;
  /** renewal-overdue fires this long after renewalDueAt with no new certificate. */
  overdueAfterMs: number;
  /** device-silent fires after this long without a report or connection. */
  silentAfterMs: number;
  /** A rule firing for at least this many devices with one cause becomes one fleet alert. */
  rollUpThreshold: number;
  /** Device ids named in a fleet alert. */
  rollUpSampleSize: number;
  /** Device notifications wait this long, so that a cohort's become one fleet alert… */
  rollUpHoldMs: number;
  /** …critical ones this long. */
  rollUpHoldCriticalMs: number;
  /** ca-expiring warns this long before a trust-bundle CA expires… */
  caWarningWindowMs: number;
  /** …and is critical this long before. */
  caCriticalWindowMs: number;
  /** renewal-capacity looks this far ahead. */
  forecastDays: number;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  /** 14 days: two working weeks for a person to act on a long-lived certificate. */
  warningWindowMs: 14 * DAY_MS,
  /**
   * 1/8 of the lifetime (not 1/3): the default renewal policy steps in with 15% of the lifetime
   * left, so 1/3 would warn on every healthy short-lived certificate before certfleet had even
   * tried; 12.5% warns only once renewal has had 2.5% of the lifetime to make progress.
   */
  warningLifetimeFraction: 1 / 8,
  /** 3 days: a weekend plus a day, the least a person needs to re-provision by hand. */
  criticalWindowMs: 3 * DAY_MS,
  /** The last 10% of the lifetime: 16.8 hours of a 7-day certificate, still time to act. */
  criticalLifetimeFraction: 0.1,
  /** 24 hours: long enough for paced renewal and a few retries, short enough to act on. */
  overdueAfterMs: 24 * HOUR_MS,
  /** 7 days: devices that sleep over a weekend or a holiday are not news; a week is. */
  silentAfterMs: 7 * DAY_MS,
  /** 20 devices: more than a person reads one by one, fewer than any real cohort. */
  rollUpThreshold: 20,
  /** 10 device ids: enough to start looking, short enough for a Teams card. */
  rollUpSampleSize: 10,
  /**
   * 10 minutes: a cohort crosses a window within minutes of each other (one issuance run), and
   * a warning that waits 10 minutes loses nothing.
   */
  rollUpHoldMs: 10 * 60 * 1000,
  /**
   * 2 minutes: devices that turn critical together (expire at one instant) do so in the same
   * minute's sweep; two minutes collects them without keeping ops waiting.
   */
  rollUpHoldCriticalMs: 2 * 60 * 1000,
  /**
   * 90 days: replacing a CA means a new CA in DPS (or the partner CA), a new trust bundle on
   * every device, and every leaf renewed under it; a quarter is the least that takes.
   */
  caWarningWindowMs: 90 * DAY_MS,
  /** 30 days: a month's certificates were already issued under a CA that is about to go. */
  caCriticalWindowMs: 30 * DAY_MS,
  /** 30 days: a monthly cohort or a rotation shows up a month before it arrives. */
  forecastDays: 30,
};
