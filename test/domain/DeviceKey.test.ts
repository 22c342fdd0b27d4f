import { deviceKeyString, normalizeHubName } from '../../shared/domain/DeviceKey';

describe('normalizeHubName', () => {
  it('treats the host name and the hub name as one hub', () => {
    expect(normalizeHubName('Contoso-Hub.azure-devices.net')).toBe('contoso-hub');
    expect(normalizeHubName(' contoso-hub ')).toBe('contoso-hub');
  });

  it('keeps a name that only contains the suffix elsewhere', () => {
    expect(normalizeHubName('azure-devices.net-hub')).toBe('azure-devices.net-hub');
  });
});

describe('deviceKeyString', () => {
  it('names a device by its hub and id', () => {
    expect(deviceKeyString({ hub: 'contoso-hub', deviceId: 'thermostat-0001' })).toBe(
      'contoso-hub/thermostat-0001',
    );
  });
});
