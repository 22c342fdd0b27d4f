import { azuriteServices } from '../support/testStorage';
import { newDeviceRecord } from '../../shared/domain/DeviceRecord';

describe('the table ledger on Azurite', () => {
  it('reads back a record it wrote', async () => {
    const { services } = azuriteServices();
    const record = newDeviceRecord('contoso-hub', 'dev#1?', '2026-11-23T12:00:00.000Z');
    await services.ledger.write(record, undefined);
    const read = await services.ledger.read({ hub: 'contoso-hub', deviceId: 'dev#1?' });
    expect(read?.value.deviceId).toBe('dev#1?');
  });
});
