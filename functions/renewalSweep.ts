import { app, InvocationContext, Timer, TimerFunctionOptions } from '@azure/functions';
import { SweepReport } from '../shared/app/renewal/RenewDevices';
import { describeSweep } from '../shared/app/describeReports';
import { services } from '../shared/services';

/**
 * Every minute: the renewal sweep (shared/app/renewal/RenewDevices.ts). A timer function runs as a
 * singleton across instances and never overlaps itself (AZURE-FACTS.md), which the per-minute
 * renewal budget relies on. A sweep that fails is simply the next minute's to do.
 */
export async function runRenewalSweep(
  _timer: Timer,
  context: InvocationContext,
): Promise<SweepReport> {
  const report = await services().renewals.sweep();
  context.log(describeSweep(report));
  return report;
}

export const renewalSweepTrigger: { name: string; options: TimerFunctionOptions } = {
  name: 'renewalSweep',
  options: {
    // Every minute: the capacity planner hands out one minute's renewal budget per sweep.
    schedule: '0 */1 * * * *',
    runOnStartup: false,
    useMonitor: true,
    handler: async (timer, context) => {
      await runRenewalSweep(timer, context);
    },
  },
};

app.timer(renewalSweepTrigger.name, renewalSweepTrigger.options);
