import { decodeIotHubMessage } from '../../../shared/app/ingest/decodeIotHubMessage';
import { twinAsReplaceMessage } from '../../../shared/app/ingest/twinAsReplaceMessage';

const READ_AT = '2026-11-27T12:00:00.000Z';
const options = { certificatePath: 'certificate', maxBodyBytes: 256 * 1024, cohortTag: 'cohort' };

const twin = {
  deviceId: 'meter+7#a',
  etag: 'AAAAAAAAAAU=',
  status: 'enabled',
  version: 12,
  tags: { cohort: 'rsa-legacy' },
  properties: {
    desired: { $metadata: { $lastUpdated: '2026-11-01T00:00:00Z' }, $version: 2 },
    reported: {
      certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
      $metadata: { $lastUpdated: '2026-11-20T08:15:30.1234567Z' },
      $version: 9,
    },
  },
};

describe('twinAsReplaceMessage', () => {
  it('makes a routed replaceTwin event that decodes to the whole twin report, dated by its last report', () => {
    const message = twinAsReplaceMessage('contoso-hub', twin, READ_AT);

    expect(message.body).toBe(twin);
    expect(message.properties).toMatchObject({
      hubName: 'contoso-hub',
      deviceId: 'meter+7#a',
      opType: 'replaceTwin',
      'iothub-message-schema': 'twinChangeNotification',
      operationTimestamp: '2026-11-20T08:15:30.123Z',
    });
    expect(decodeIotHubMessage(message, options)).toStrictEqual({
      ok: true,
      events: [
        {
          kind: 'twin-report',
          hub: 'contoso-hub',
          deviceId: 'meter+7#a',
          occurredAt: '2026-11-20T08:15:30.123Z',
          opType: 'replaceTwin',
          complete: true,
          reportedVersion: 9,
          certificate: { present: true, value: twin.properties.reported.certificate },
          privateKeyReported: false,
          cohort: { value: 'rsa-legacy' },
          twinVersion: 12,
        },
      ],
    });
  });

  it('dates a twin without reported metadata by the time it was read', () => {
    const bare = { deviceId: 'd-1', version: 1, properties: { reported: { $version: 1 } } };
    expect(
      twinAsReplaceMessage('contoso-hub', bare, READ_AT).properties['operationTimestamp'],
    ).toBe(READ_AT);
  });

  it('leaves a twin without a device id for the decoder to reject, as bad input', () => {
    const decoded = decodeIotHubMessage(
      twinAsReplaceMessage('contoso-hub', { version: 1 }, READ_AT),
      options,
    );
    expect(decoded).toMatchObject({ ok: false, code: 'missing-device-id' });
  });
});
