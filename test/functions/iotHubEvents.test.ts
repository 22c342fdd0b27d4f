import { InvocationContext, LogLevel } from '@azure/functions';
import {
  INGEST_STUCK_ALERT_AFTER_RETRIES,
  INGEST_STUCK_PREFIX,
  handleIotHubEvents,
} from '../../functions/iotHubEvents';
import { triggerBatchFromMessages } from '../../shared/adapters/eventhub/triggerBatch';
import { IngestSummary, emptyIngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { StorageRejected, TransientFault } from '../../shared/app/ports';
import { Services, useServices } from '../../shared/services';
import { deviceConnected } from '../../shared/local/iotHubMessages';

/**
 * The trigger retries a failed batch forever (only faults that can heal throw), so a batch that
 * keeps failing must say so in a way Azure Monitor can alert on: one error line with a stable
 * prefix (docs/operations.md has the query) once the retries of one batch pass a threshold.
 */
const BATCH = [
  deviceConnected({ hub: 'contoso-hub', deviceId: 'meter-1', at: '2026-11-23T10:00:00.000Z' }, 1n),
];

interface Logged {
  level: LogLevel;
  text: string;
}

function withIngest(apply: () => Promise<IngestSummary>): void {
  useServices({ ingest: { apply } } as unknown as Services);
}

async function deliver(
  retryCount: number | undefined,
): Promise<{ logged: Logged[]; outcome: unknown }> {
  const { bodies, metadata } = triggerBatchFromMessages(BATCH);
  const logged: Logged[] = [];
  const context = new InvocationContext({
    functionName: 'iotHubEvents',
    invocationId: 'retry-test',
    triggerMetadata: { ...metadata, partitionContext: { partitionId: '3' } },
    ...(retryCount !== undefined ? { retryContext: { retryCount, maxRetryCount: -1 } } : {}),
    logHandler: (level, ...args) => logged.push({ level, text: args.map(String).join(' ') }),
  });
  const outcome = await handleIotHubEvents(bodies, context).catch((error: unknown) => error);
  return { logged, outcome };
}

afterEach(() => useServices(undefined));

describe('the iotHubEvents function when a batch keeps failing', () => {
  it('retries a transient fault quietly at first: a warning, no alert, and the fault thrown for the retry policy', async () => {
    const fault = new TransientFault(
      'write ledger record: storage unavailable (503 ServerBusy RestError)',
    );
    withIngest(() => Promise.reject(fault));

    const { logged, outcome } = await deliver(1);

    expect(outcome).toBe(fault);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged.some((l) => l.level === 'warning' && /retry 1/.test(l.text))).toBe(true);
    expect(logged.some((l) => l.text.startsWith(INGEST_STUCK_PREFIX))).toBe(false);
  });

  it(`logs one error with the stable prefix once a batch has been retried ${INGEST_STUCK_ALERT_AFTER_RETRIES} times, and still throws`, async () => {
    const refusal = new StorageRejected(
      'write ledger record: storage refused (403 AuthorizationPermissionMismatch RestError)',
      403,
    );
    withIngest(() => Promise.reject(refusal));

    const { logged, outcome } = await deliver(INGEST_STUCK_ALERT_AFTER_RETRIES);

    expect(outcome).toBe(refusal);
    const errors = logged.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.text).toBe(
      `${INGEST_STUCK_PREFIX} partition 3: a batch of 1 events has failed ${INGEST_STUCK_ALERT_AFTER_RETRIES + 1} times and is retried: ` +
        'StorageRejected: write ledger record: storage refused (403 AuthorizationPermissionMismatch RestError)',
    );
  });

  it('names only the kind of an unexpected error, whose message could quote anything', async () => {
    withIngest(() => Promise.reject(new TypeError('cannot read "MIIEvQIBADANBgkq" of undefined')));

    const { logged } = await deliver(INGEST_STUCK_ALERT_AFTER_RETRIES + 4);

    const [error] = logged.filter((l) => l.level === 'error');
    expect(error?.text).toMatch(
      new RegExp(
        `^${INGEST_STUCK_PREFIX} partition 3: .* failed 11 times and is retried: TypeError$`,
      ),
    );
    expect(logged.map((l) => l.text).join('\n')).not.toContain('MIIEvQ');
  });

  it('logs what it ingested, without alerting, when a retried batch goes through', async () => {
    withIngest(async () => ({ ...emptyIngestSummary(), messages: 1, applied: 1 }));

    const { logged, outcome } = await deliver(INGEST_STUCK_ALERT_AFTER_RETRIES + 2);

    expect(outcome).toMatchObject({ applied: 1 });
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged.some((l) => /after 8 retries/.test(l.text))).toBe(true);
  });

  it('treats an invocation without a retry context as the first attempt', async () => {
    withIngest(() =>
      Promise.reject(
        new TransientFault('read ledger record: storage unavailable (ETIMEDOUT Error)'),
      ),
    );

    const { logged } = await deliver(undefined);

    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
  });
});
