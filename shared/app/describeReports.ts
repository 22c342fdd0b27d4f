import { DeliveryReport } from './alerts/DeliverAlerts';
import { IngestSummary } from './ingest/IngestIotHubEvents';
import { ReconcileReport } from './reconcile/ReconcileTwins';
import { SweepReport } from './renewal/RenewDevices';

/**
 * One-line descriptions of what a use case did, for the Functions' logs and the CLI's output
 * alike, so an operator reads the same words in Application Insights and in a terminal.
 */

/** `N events: A applied, …; M audit records` (`events` when the caller counts messages itself). */
export function describeIngest(summary: IngestSummary, events = summary.messages): string {
  return (
    `${events} events: ${summary.applied} applied, ${summary.duplicate} duplicate, ` +
    `${summary.stale} stale, ${summary.irrelevant} irrelevant, ${summary.ignored} ignored, ` +
    `${summary.deadLettered} dead-lettered; ${summary.auditWritten} audit records`
  );
}

export function describeSweep(report: SweepReport): string {
  const outcomes = Object.entries(report.outcomes)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  return (
    `renewal sweep at ${report.at}: ${report.pending} pending in the horizon, ${report.requested} requested` +
    (outcomes ? ` (${outcomes})` : '') +
    (report.awaitingConnection
      ? `, ${report.awaitingConnection} known to be disconnected not called (asked when they connect)`
      : '') +
    `, ${report.deadlinesPassed} deadlines passed, ${report.expired} expired` +
    (report.late ? `, ${report.late} over capacity (${report.atRisk} at risk)` : '') +
    (report.pausedUntil ? `, paused until ${report.pausedUntil}` : '') +
    (report.requestsDisabled ? ', requests disabled (no IoT Hub configured)' : '')
  );
}

/** One line per hub, then the totals. */
export function describeReconcile(report: ReconcileReport): string[] {
  const lines = report.hubs.map((h) => {
    const state =
      h.outcome === 'failed'
        ? `FAILED: ${h.problem ?? 'unknown problem'}`
        : h.outcome === 'stopped'
          ? 'stopped (out of time), the rest next time'
          : 'complete';
    return `hub ${h.hub}: ${state}; ${describeReconcileCounts(h)}`;
  });
  const failed = report.hubs.filter((h) => h.outcome === 'failed').length;
  lines.push(
    `reconcile ${report.startedAt} to ${report.finishedAt}: ${report.hubs.length} hubs` +
      (failed ? ` (${failed} failed)` : '') +
      `; ${describeReconcileCounts(report.totals)}`,
  );
  return lines;
}

function describeReconcileCounts(c: ReconcileReport['totals']): string {
  return (
    `${c.pages} pages, ${c.twins} twins: ${c.applied} applied, ${c.duplicate} duplicate, ` +
    `${c.stale} stale, ${c.irrelevant} without a certificate, ${c.ignored} ignored, ` +
    `${c.deadLettered} dead-lettered; ${c.auditWritten} audit records` +
    (c.throttled ? `; ${c.throttled} throttled answers waited out` : '') +
    (c.retried ? `; ${c.retried} pages asked again` : '')
  );
}

/** `alert delivery at T: N sent (webhook 3, teams 3), F failed (…), R rolled up, K fleet alerts` */
export function describeDelivery(report: DeliveryReport): string {
  const bySink = (counts: Partial<Record<string, number>>) => {
    const parts = Object.entries(counts).map(([sink, n]) => `${sink} ${n}`);
    const total = Object.values(counts).reduce<number>((sum, n) => sum + (n ?? 0), 0);
    return parts.length > 0 ? `${total} (${parts.join(', ')})` : '0';
  };
  return (
    `alert delivery at ${report.at}: ${bySink(report.sent)} sent, ${bySink(report.failed)} failed` +
    `, ${report.rolledUp} rolled up, ${report.fleetTransitions.length} fleet alert transitions`
  );
}
