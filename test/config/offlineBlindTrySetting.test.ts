import { SettingsError, loadSettings } from '../../shared/config/settings';
import { HOUR_MS } from '../../shared/domain/Clock';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';

describe('CERTFLEET_OFFLINE_BLIND_TRY_HOURS', () => {
  it('calls a device known to be disconnected only in the last 6 hours of its certificate by default', () => {
    expect(loadSettings({}).renewal.timing.offlineBlindTryMs).toBe(6 * HOUR_MS);
    expect(DEFAULT_RENEWAL_TIMING.offlineBlindTryMs).toBe(6 * HOUR_MS);
  });

  it('reads hours, from 0 (never a blind try) to 2160 (90 days: every device called, as if its state were unknown)', () => {
    for (const [hours, ms] of [
      ['0', 0],
      ['1.5', 1.5 * HOUR_MS],
      ['24', 24 * HOUR_MS],
      ['2160', 2160 * HOUR_MS],
    ] as const) {
      const timing = loadSettings({ CERTFLEET_OFFLINE_BLIND_TRY_HOURS: hours }).renewal.timing;

      expect(timing).toEqual({ ...DEFAULT_RENEWAL_TIMING, offlineBlindTryMs: ms });
    }
  });

  it.each(['-1', '2161', 'six', '6h'])(
    'refuses %p, naming the setting and what it takes',
    (value) => {
      let error: unknown;
      try {
        loadSettings({ CERTFLEET_OFFLINE_BLIND_TRY_HOURS: value });
      } catch (e) {
        error = e;
      }

      expect(error).toBeInstanceOf(SettingsError);
      expect((error as SettingsError).problems.join('\n')).toMatch(
        /CERTFLEET_OFFLINE_BLIND_TRY_HOURS.*must be hours, from 0 to 2160/,
      );
    },
  );
});
