import { isoUtc, parseIsoInstant } from '../../domain/Clock';
import { RawIotHubMessage } from './RawIotHubMessage';

/**
 * A twin from IoT Hub's twin query, dressed as the routed `replaceTwin` twin-change event IoT
 * Hub sends with the whole twin as its body (AZURE-FACTS.md, "IoT Hub events routed to Event
 * Hubs"), so the ledger applies it by the same rules as live events: a reported `$version`
 * the ledger has is a duplicate, an older one is stale, a newer one is applied.
 *
 * Its operationTimestamp is when the reported properties last changed, by IoT Hub's own clock
 * (`properties.reported.$metadata.$lastUpdated`), and only without one the time it was read.
 * Query results are eventually consistent, "delays of up to 30 minutes should be tolerated"
 * (Microsoft Learn, "Queries for IoT Hub device and module twins"): the twin of a device deleted
 * minutes ago may still be answered, and dated by its last report it is older than the deletion,
 * so it does not bring the device back. It also keeps a certificate that expired since it was
 * reported from being flagged as expired when reported.
 */
export function twinAsReplaceMessage(hub: string, twin: unknown, readAt: string): RawIotHubMessage {
  const fields = isObject(twin) ? twin : {};
  const deviceId = typeof fields['deviceId'] === 'string' ? fields['deviceId'] : undefined;
  // `SELECT * FROM devices` answers device twins only; a module twin would be ignored anyway.
  const moduleId = typeof fields['moduleId'] === 'string' ? fields['moduleId'] : undefined;
  const at = lastReportedAt(fields) ?? readAt;
  return {
    body: twin,
    properties: {
      hubName: hub,
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(moduleId !== undefined ? { moduleId } : {}),
      operationTimestamp: at,
      'iothub-message-schema': 'twinChangeNotification',
      opType: 'replaceTwin',
      // Not IoT Hub's: tells a dead letter's reader the event came from a reconcile.
      'certfleet-source': 'twin-query',
    },
    systemProperties: {
      ...(deviceId !== undefined ? { 'iothub-connection-device-id': deviceId } : {}),
      ...(moduleId !== undefined ? { 'iothub-connection-module-id': moduleId } : {}),
      'iothub-enqueuedtime': readAt,
      'iothub-message-source': 'twinChangeEvents',
      'content-type': 'application/json',
      'content-encoding': 'utf-8',
      'user-id': hub,
    },
    enqueuedTimeUtc: readAt,
  };
}

function lastReportedAt(twin: Record<string, unknown>): string | undefined {
  const properties = twin['properties'];
  const reported = isObject(properties) ? properties['reported'] : undefined;
  const metadata = isObject(reported) ? reported['$metadata'] : undefined;
  const when = parseIsoInstant(isObject(metadata) ? metadata['$lastUpdated'] : undefined);
  return when ? isoUtc(when) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
