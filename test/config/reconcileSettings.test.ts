import { loadReconcileSettings } from '../../shared/config/reconcileSettings';
import { SettingsError, loadSettings } from '../../shared/config/settings';

describe('loadReconcileSettings', () => {
  it('asks for 10 twin query pages a minute per hub by default: half of what IoT Hub S1 allows a unit', () => {
    expect(loadReconcileSettings({})).toEqual({ twinQueriesPerMinute: 10 });
    expect(loadReconcileSettings({ CERTFLEET_TWIN_QUERIES_PER_MINUTE: ' ' })).toEqual({
      twinQueriesPerMinute: 10,
    });
  });

  it.each([
    ['1', 1],
    ['20', 20],
    [' 1000 ', 1000],
  ])('reads %j', (text, value) => {
    expect(loadReconcileSettings({ CERTFLEET_TWIN_QUERIES_PER_MINUTE: text })).toEqual({
      twinQueriesPerMinute: value,
    });
  });

  it.each(['0', '1001', '2.5', '-3', 'ten', '1e2'])('names the setting when it is %j', (text) => {
    let error: unknown;
    try {
      loadSettings({ CERTFLEET_TWIN_QUERIES_PER_MINUTE: text, CERTFLEET_AUDIT_SHARDS: '0' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'CERTFLEET_AUDIT_SHARDS',
      'CERTFLEET_TWIN_QUERIES_PER_MINUTE',
    ]);
  });
});
