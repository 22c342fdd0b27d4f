import { ReceivedEventLike } from '../../shared/adapters/eventhub/receivedEvents';

/**
 * IoT Hub's routed twin-change, lifecycle and connection events as @azure/event-hubs 6.x hands
 * them to `processEvents` (AZURE-FACTS.md, "IoT Hub events routed to Event Hubs", and the SDK's
 * eventData.js): IoT Hub's `iothub-*` annotations in `systemProperties`, AMQP timestamps there
 * turned into epoch milliseconds, the AMQP `user-id` (the hub name) as bytes under `userId`,
 * the content type under `contentType`; the application properties in `properties`; the body
 * JSON-parsed by the SDK (`json`) or left as bytes (`bytes`, as with skipParsingBodyAsJson);
 * `enqueuedTimeUtc` a Date.
 */
export interface RoutedEventSpec {
  hub: string;
  deviceId: string;
  /** operationTimestamp, UTC ISO 8601 with milliseconds. */
  at: string;
  sequenceNumber: number;
  bodyAs?: 'json' | 'bytes';
}

type Source = 'twinChangeEvents' | 'deviceLifecycleEvents' | 'deviceConnectionStateEvents';
const SCHEMA: Record<Source, string> = {
  twinChangeEvents: 'twinChangeNotification',
  deviceLifecycleEvents: 'deviceLifecycleNotification',
  deviceConnectionStateEvents: 'deviceConnectionStateNotification',
};

export function routedBySdk(
  spec: RoutedEventSpec,
  source: Source,
  opType: string,
  body: unknown,
): ReceivedEventLike {
  const at = Date.parse(spec.at);
  return {
    body: spec.bodyAs === 'bytes' ? Buffer.from(JSON.stringify(body), 'utf8') : body,
    properties: {
      hubName: spec.hub,
      deviceId: spec.deviceId,
      // IoT Hub writes seven fractional digits.
      operationTimestamp: spec.at.replace(/\.(\d{3})Z$/, '.$10000Z'),
      'iothub-message-schema': SCHEMA[source],
      opType,
    },
    systemProperties: {
      'iothub-connection-device-id': spec.deviceId,
      'iothub-connection-auth-method':
        '{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
      'iothub-connection-auth-generation-id': '638678301234567890',
      'iothub-enqueuedtime': at + 40,
      'iothub-message-source': source,
      userId: Buffer.from(spec.hub, 'utf8'),
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    },
    enqueuedTimeUtc: new Date(at + 95),
    offset: String(4_294_967_296 + spec.sequenceNumber * 1024),
    sequenceNumber: spec.sequenceNumber,
    partitionKey: null,
  };
}

export function deviceCreatedBySdk(spec: RoutedEventSpec): ReceivedEventLike {
  return routedBySdk(spec, 'deviceLifecycleEvents', 'createDeviceIdentity', {
    deviceId: spec.deviceId,
    etag: 'AAAAAAAAAAE=',
    version: 2,
    status: 'enabled',
    authenticationType: 'certificateAuthority',
    properties: {
      desired: { $metadata: { $lastUpdated: spec.at }, $version: 1 },
      reported: { $metadata: { $lastUpdated: spec.at }, $version: 1 },
    },
  });
}

/** `updateTwin`: only the changed reported properties, with `$metadata` and `$version`. */
export function certificateReportedBySdk(
  spec: RoutedEventSpec,
  reportedVersion: number,
  certificate: { validFrom: string; validUntil: string },
): ReceivedEventLike {
  return routedBySdk(spec, 'twinChangeEvents', 'updateTwin', {
    version: reportedVersion + 1,
    properties: {
      reported: {
        certificate,
        $metadata: {
          $lastUpdated: spec.at,
          certificate: {
            $lastUpdated: spec.at,
            validFrom: { $lastUpdated: spec.at },
            validUntil: { $lastUpdated: spec.at },
          },
        },
        $version: reportedVersion,
      },
    },
  });
}

/** Connection-state bodies carry only IoT Hub's increasing hex sequence number. */
export function deviceConnectedBySdk(spec: RoutedEventSpec, sequence: string): ReceivedEventLike {
  return routedBySdk(spec, 'deviceConnectionStateEvents', 'deviceConnected', {
    sequenceNumber: sequence,
  });
}
