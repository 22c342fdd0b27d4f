import { SettingsError, loadSettings } from '../shared/config/settings';
import { buildServices } from '../shared/services';

describe('building services', () => {
  it('reports a trust bundle that does not parse as a settings problem naming the setting', () => {
    const settings = loadSettings({
      CERTFLEET_TRUST_BUNDLE:
        '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----',
    });
    expect(() => buildServices(settings)).toThrow(SettingsError);
    expect(() => buildServices(settings)).toThrow(
      /CERTFLEET_TRUST_BUNDLE: not a readable PEM bundle/,
    );
  });
});
