import { SettingsError, loadSettings } from '../../shared/config/settings';

/** The settings of the device contract's checks: the twin string limit and the CN check. */
describe('loadSettings: certificate reports', () => {
  it('holds each PEM string to IoT Hub’s 4 KB limit of a twin string by default (AZURE-FACTS.md)', () => {
    expect(loadSettings({}).maxPemBytes).toBe(4096);
  });

  it('lets CERTFLEET_MAX_PEM_BYTES raise the limit, for PEMs read from whole twins of older devices', () => {
    expect(loadSettings({ CERTFLEET_MAX_PEM_BYTES: '32768' }).maxPemBytes).toBe(32768);
  });

  it('leaves the CN mismatch severity to the domain’s default (critical) when it is not set', () => {
    expect(loadSettings({}).commonNameMismatchSeverity).toBeUndefined();
  });

  it.each(['warning', 'critical', ' Warning '])(
    'reads CERTFLEET_CN_MISMATCH_SEVERITY %j',
    (value) => {
      expect(
        loadSettings({ CERTFLEET_CN_MISMATCH_SEVERITY: value }).commonNameMismatchSeverity,
      ).toBe(value.trim().toLowerCase());
    },
  );

  it.each(['info', 'error', 'none'])(
    'names CERTFLEET_CN_MISMATCH_SEVERITY when it is %j',
    (value) => {
      let error: unknown;
      try {
        loadSettings({ CERTFLEET_CN_MISMATCH_SEVERITY: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SettingsError);
      expect((error as SettingsError).problems).toEqual([
        'CERTFLEET_CN_MISMATCH_SEVERITY: must be warning or critical',
      ]);
    },
  );
});
