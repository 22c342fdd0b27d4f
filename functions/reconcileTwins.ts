import { app, InvocationContext, Timer, TimerFunctionOptions } from '@azure/functions';
import { ReconcileReport } from '../shared/app/reconcile/ReconcileTwins';
import { describeReconcile } from '../shared/app/describeReports';
import { MINUTE_MS } from '../shared/domain/Clock';
import { services } from '../shared/services';

/**
 * host.json's functionTimeout is 10 minutes: the reconcile stops asking for pages after 8, so it
 * ends with a report instead of being cut off. At the default rate that is about 8,000 twins a
 * hub; each run starts from the first page again, so the devices beyond are left to
 * `certfleet backfill`, which has no time limit (docs/renewal.md, "Backfill and reconcile").
 */
export const RECONCILE_TIME_BUDGET_MS = 8 * MINUTE_MS;

/**
 * Daily: reconcile the ledger with IoT Hub's device twins (shared/app/reconcile/ReconcileTwins.ts), so
 * events missed (an outage, a route misconfigured, a consumer group reset) are caught within a
 * day. A timer function runs as a singleton and never overlaps itself (AZURE-FACTS.md), so one
 * reconcile at a time draws on each hub's query quota. Without an IoT Hub there is nothing to
 * reconcile with.
 */
export async function runReconcile(
  _timer: Timer,
  context: InvocationContext,
): Promise<ReconcileReport | undefined> {
  const { reconcile } = services();
  if (!reconcile) {
    context.log('reconcile skipped: no IoT Hub configured');
    return undefined;
  }
  const report = await reconcile.reconcile({ timeBudgetMs: RECONCILE_TIME_BUDGET_MS });
  for (const line of describeReconcile(report)) context.log(line);
  return report;
}

export const reconcileTwinsTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'reconcileTwins',
  options: {
    // Daily, 03:30 UTC. Each pass costs IoT Hub messages too (queries are billed by result
    // size, 4 KB a message), so more often than daily is the operator's choice (the CLI).
    schedule: '0 30 3 * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runReconcile(timer, context);
    },
  },
};

app.timer(reconcileTwinsTrigger.name, reconcileTwinsTrigger.options);
