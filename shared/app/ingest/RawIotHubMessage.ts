/**
 * One event as Event Hubs delivers an IoT Hub routed message: the body, the application
 * properties IoT Hub sets (deviceId, hubName, opType, operationTimestamp,
 * iothub-message-schema) and the system properties (iothub-connection-device-id,
 * iothub-message-source, iothub-enqueuedtime, …). AZURE-FACTS.md, "IoT Hub events routed to
 * Event Hubs". The CLI's JSON Lines input uses this very shape.
 */
export interface RawIotHubMessage {
  body: unknown;
  properties: Record<string, unknown>;
  systemProperties: Record<string, unknown>;
  /** Event Hubs' own enqueued time, when the transport gives it separately. */
  enqueuedTimeUtc?: string;
}
