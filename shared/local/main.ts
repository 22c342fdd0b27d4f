import './quietFunctionsTestMode'; // first: before functions/ registers anything
import { InvocationContext } from '@azure/functions';
import { handleIotHubEvents, iotHubEventsTrigger } from '../../functions/iotHubEvents';
import { triggerBatchFromMessages } from '../adapters/eventhub/triggerBatch';
import { loadSettings } from '../config/settings';
import { buildServices, useServices } from '../services';
import { DeviceRecord } from '../domain/DeviceRecord';
import { startAzurite } from './azurite';
import { SAMPLE_START, sampleEventStream } from './sampleEvents';

/**
 * `npm start`: the main job on embedded defaults. Starts Azurite, feeds a sample IoT Hub event
 * stream through the Event Hub trigger's own handler (the same definition the Functions host
 * registers), then prints the ledger, the audit trail's verification and the dead letters.
 */
async function main(): Promise<void> {
  process.stdout.write('certfleet: starting Azurite on free loopback ports…\n');
  const azurite = await startAzurite();
  try {
    const sample = await sampleEventStream();
    const settings = loadSettings({
      ...process.env,
      FleetStorage: azurite.connectionString,
      CERTFLEET_TRUST_BUNDLE: sample.trustBundlePem,
    });
    const services = buildServices(settings);
    useServices(services);

    const { bodies, metadata } = triggerBatchFromMessages(sample.messages);
    const context = new InvocationContext({
      functionName: iotHubEventsTrigger.name,
      invocationId: 'local-sample',
      triggerMetadata: metadata,
      logHandler: () => undefined,
    });
    const summary = await handleIotHubEvents(bodies, context);
    process.stdout.write(
      `\nIngested ${summary.messages} sample IoT Hub events through the '${iotHubEventsTrigger.name}' trigger's handler:\n` +
        `  ${summary.applied} applied, ${summary.duplicate} duplicate, ${summary.stale} stale, ${summary.irrelevant} irrelevant, ` +
        `${summary.deadLettered} dead-lettered, ${summary.auditWritten} audit records\n\n`,
    );

    const records: DeviceRecord[] = [];
    for await (const record of services.ledger.list()) records.push(record);
    process.stdout.write(
      `Certificate ledger (${records.length} devices):\n${ledgerTable(records)}\n\n`,
    );

    const dates = new Set<string>();
    for (
      let d = Date.parse(SAMPLE_START);
      d <= Date.parse(SAMPLE_START) + 30 * 86_400_000;
      d += 86_400_000
    )
      dates.add(new Date(d).toISOString().slice(0, 10));
    let auditRecords = 0;
    let broken = 0;
    for (const date of dates) {
      const v = await services.audit.verifyDate(date);
      for (const blob of v.blobs) {
        auditRecords += blob.result.records;
        if (!blob.result.ok) broken += 1;
      }
    }
    process.stdout.write(
      `Audit trail: ${auditRecords} records, hash chains ${broken === 0 ? 'verified' : `BROKEN in ${broken} blobs`}\n`,
    );
    let letters = 0;
    for await (const letter of services.deadLetters.list()) {
      letters += 1;
      process.stdout.write(
        `${letters === 1 ? 'Dead letters:\n' : ''}  ${letter.code}: ${shorten(letter.reason, 110)}\n`,
      );
    }
    if (broken > 0) process.exitCode = 1;
  } finally {
    await azurite.stop();
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, text.lastIndexOf(' ', max - 1))} …`;
}

function ledgerTable(records: DeviceRecord[]): string {
  const rows = records.map((r) => [
    r.deviceId,
    r.lifecycle,
    r.connection.state,
    r.current?.validUntil.slice(0, 16) ?? '-',
    r.renewalDueAt?.slice(0, 16) ?? '-',
    r.current
      ? r.current.source === 'pem'
        ? `PEM ${r.current.keyAlgorithm ?? ''}`.trim()
        : 'fields'
      : '-',
    r.findings.map((f) => f.code).join(', ') || '-',
  ]);
  const header = [
    'device',
    'lifecycle',
    'connection',
    'valid until',
    'renewal due',
    'known from',
    'findings',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`certfleet: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
