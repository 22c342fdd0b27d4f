import { RawIotHubMessage } from '../app/ingest/RawIotHubMessage';

/**
 * Builds routed IoT Hub messages in the shape Event Hubs delivers them (AZURE-FACTS.md, "IoT
 * Hub events routed to Event Hubs"): the sample run and the fleet simulator use these to feed
 * certfleet what a real hub would.
 */
export interface MessageOrigin {
  hub: string;
  deviceId: string;
  /** operationTimestamp, UTC ISO 8601. */
  at: string;
}

type Source = 'twinChangeEvents' | 'deviceLifecycleEvents' | 'deviceConnectionStateEvents';
const SCHEMA: Record<Source, string> = {
  twinChangeEvents: 'twinChangeNotification',
  deviceLifecycleEvents: 'deviceLifecycleNotification',
  deviceConnectionStateEvents: 'deviceConnectionStateNotification',
};

function routed(
  origin: MessageOrigin,
  source: Source,
  opType: string,
  body: unknown,
): RawIotHubMessage {
  const enqueued = Date.parse(origin.at) + 40;
  return {
    body,
    properties: {
      hubName: origin.hub,
      deviceId: origin.deviceId,
      operationTimestamp: origin.at,
      'iothub-message-schema': SCHEMA[source],
      opType,
    },
    systemProperties: {
      'iothub-connection-device-id': origin.deviceId,
      // Epoch milliseconds, as the routed-message docs list it (AZURE-FACTS.md, "Enqueued time").
      'iothub-enqueuedtime': enqueued,
      'iothub-message-source': source,
      'content-type': 'application/json',
      'content-encoding': 'utf-8',
      'user-id': origin.hub,
    },
    enqueuedTimeUtc: new Date(enqueued).toISOString(),
  };
}

/** `updateTwin`: only the changed part of the reported properties, with `$version`. */
export function twinUpdated(
  origin: MessageOrigin,
  reportedVersion: number,
  reportedPatch: Record<string, unknown>,
  twinVersion = reportedVersion + 1,
): RawIotHubMessage {
  return routed(origin, 'twinChangeEvents', 'updateTwin', {
    version: twinVersion,
    properties: {
      reported: {
        ...reportedPatch,
        $metadata: { $lastUpdated: origin.at },
        $version: reportedVersion,
      },
    },
  });
}

function wholeTwin(
  origin: MessageOrigin,
  reportedVersion: number,
  reported: Record<string, unknown>,
) {
  return {
    deviceId: origin.deviceId,
    etag: 'AAAAAAAAAAE=',
    version: reportedVersion + 1,
    status: 'enabled',
    authenticationType: 'selfSigned',
    properties: {
      desired: { $metadata: { $lastUpdated: origin.at }, $version: 1 },
      reported: { ...reported, $metadata: { $lastUpdated: origin.at }, $version: reportedVersion },
    },
  };
}

/** `replaceTwin`: the whole twin. */
export function twinReplaced(
  origin: MessageOrigin,
  reportedVersion: number,
  reported: Record<string, unknown>,
): RawIotHubMessage {
  return routed(
    origin,
    'twinChangeEvents',
    'replaceTwin',
    wholeTwin(origin, reportedVersion, reported),
  );
}

export function deviceCreated(origin: MessageOrigin): RawIotHubMessage {
  return routed(origin, 'deviceLifecycleEvents', 'createDeviceIdentity', wholeTwin(origin, 1, {}));
}

export function deviceDeleted(origin: MessageOrigin): RawIotHubMessage {
  return routed(origin, 'deviceLifecycleEvents', 'deleteDeviceIdentity', wholeTwin(origin, 1, {}));
}

/** Connection-state bodies are `{"sequenceNumber": "<hex>"}`, increasing per device. */
export function deviceConnected(origin: MessageOrigin, sequence: bigint): RawIotHubMessage {
  return routed(origin, 'deviceConnectionStateEvents', 'deviceConnected', {
    sequenceNumber: sequenceHex(sequence),
  });
}

export function deviceDisconnected(origin: MessageOrigin, sequence: bigint): RawIotHubMessage {
  return routed(origin, 'deviceConnectionStateEvents', 'deviceDisconnected', {
    sequenceNumber: sequenceHex(sequence),
  });
}

function sequenceHex(sequence: bigint): string {
  return sequence.toString(16).padStart(46, '0');
}
