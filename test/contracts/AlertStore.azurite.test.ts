import { TableAlertStore } from '../../shared/adapters/storage/TableAlertStore';
import { AlertCondition } from '../../shared/domain/alerts/AlertCondition';
import { nextAlertStates } from '../../shared/domain/alerts/nextAlertStates';
import { freshPrefix, tableClient, tableRequestLog } from '../support/rawStorage';
import { alertStoreContract } from './alertStoreContract';

// The same contract runs against InMemoryAlertStore in AlertStore.test.ts.
alertStoreContract('TableAlertStore on Azurite', () => {
  const prefix = freshPrefix();
  return new TableAlertStore(tableClient(`${prefix}alerts`), tableClient(`${prefix}alertoutbox`));
});

const T0 = '2026-11-27T06:00:00.000Z';
const CAUSE = 'issuer=Contoso Devices CA;cohort=2026-11;expires=2026-12-01';

function aDeviceCondition(deviceId: string, cause = CAUSE): AlertCondition {
  return {
    rule: 'certificate-expiring',
    severity: 'warning',
    scope: 'device',
    subject: `contoso-hub/${deviceId}`,
    summary: `Device ${deviceId} in contoso-hub: its certificate expires soon.`,
    hub: 'contoso-hub',
    deviceId,
    cause,
  };
}

describe('TableAlertStore on Azurite', () => {
  it("reads a group with one partition query that returns only the group's alerts", async () => {
    const prefix = freshPrefix();
    const log = tableRequestLog();
    const store = new TableAlertStore(
      tableClient(`${prefix}alerts`, log),
      tableClient(`${prefix}alertoutbox`),
    );
    const conditions = [
      ...['t-1', 't-2', 't-3'].map((id) => aDeviceCondition(id)),
      ...['u-1', 'u-2'].map((id) => aDeviceCondition(id, `${CAUSE}-other`)),
    ];
    await store.applyTransitions(nextAlertStates([], conditions, T0).transitions);
    log.clear();

    const group = await store.listGroup(`certificate-expiring;${CAUSE}`);

    expect(group.map((a) => a.deviceId)).toEqual(['t-1', 't-2', 't-3']);
    expect(log.requests).toHaveLength(1);
    expect(decodeURIComponent(log.requests[0]!.url)).toMatch(
      /\$filter=PartitionKey eq 'g-[0-9a-f]{32}'$/,
    );
    expect(log.entitiesReturned()).toBe(3);
  });

  it('creates its tables again when they are deleted after start-up', async () => {
    const prefix = freshPrefix();
    const store = new TableAlertStore(
      tableClient(`${prefix}alerts`),
      tableClient(`${prefix}alertoutbox`),
    );
    const raised = nextAlertStates([], [aDeviceCondition('t-1')], T0);
    await store.applyTransitions(raised.transitions);
    await tableClient(`${prefix}alerts`).deleteTable();
    await tableClient(`${prefix}alertoutbox`).deleteTable();

    const listed = [];
    for await (const a of store.listOpen()) listed.push(a);
    await store.applyTransitions(raised.transitions);

    expect(listed).toEqual([]);
    expect(await store.listGroup(`certificate-expiring;${CAUSE}`)).toEqual(raised.states);
    expect(await store.duePending(T0, 10)).toEqual([]);
  });
});
