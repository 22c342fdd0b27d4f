import { loadAuditCheckSettings } from '../../shared/config/auditCheckSettings';
import { SettingsError } from '../../shared/config/SettingsError';
import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../shared/domain/audit/FleetAuditChecks';

describe('the fleet audit checks settings', () => {
  it('default to 30 days, 398 days and no distrusted issuer', () => {
    expect(loadAuditCheckSettings({})).toEqual(DEFAULT_AUDIT_CHECK_SETTINGS);
  });

  it('read the thresholds and the distrusted issuers, one a line or separated by |', () => {
    expect(
      loadAuditCheckSettings({
        CERTFLEET_AUDIT_EXPIRING_DAYS: '14',
        CERTFLEET_AUDIT_MAX_VALIDITY_DAYS: '90',
        CERTFLEET_DISTRUSTED_ISSUERS: 'CN=Old CA, O=Contoso\n CN=Fabrikam CA |CN=Other',
      }),
    ).toEqual({
      expiringWithinDays: 14,
      maxValidityDays: 90,
      distrustedIssuers: ['CN=Old CA, O=Contoso', 'CN=Fabrikam CA', 'CN=Other'],
    });
  });

  it('name every wrong threshold', () => {
    let problems: string[] = [];
    try {
      loadAuditCheckSettings({
        CERTFLEET_AUDIT_EXPIRING_DAYS: 'soon',
        CERTFLEET_AUDIT_MAX_VALIDITY_DAYS: '0',
      });
    } catch (error) {
      problems = (error as SettingsError).problems;
    }
    expect(problems).toEqual([
      'CERTFLEET_AUDIT_EXPIRING_DAYS: must be a whole number of days from 1 to 3650',
      'CERTFLEET_AUDIT_MAX_VALIDITY_DAYS: must be a whole number of days from 1 to 3650',
    ]);
  });
});
