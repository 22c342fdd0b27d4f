import { notificationOf } from '../../../shared/app/alerts/notificationOf';
import { AlertDelivery, AlertNotification } from '../../../shared/app/ports';
import { AlertRule, AlertSeverity } from '../../../shared/domain/alerts/AlertRule';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import {
  AlertState,
  AlertTransition,
  AlertTransitionKind,
  alertId,
  stateOfTransition,
  transitionId,
} from '../../../shared/domain/alerts/AlertState';
import { alertAuditEntry } from '../../../shared/domain/alerts/evaluateAlerts';
import { AuditEntry, auditEntryId } from '../../../shared/domain/AuditEntry';
import { CertificateIdentity } from '../../../shared/domain/Certificate';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { ConsistencyChecks } from '../../../shared/simulation/fleet/ConsistencyChecks';
import {
  AlertCheckRecords,
  checkAlertConsistency,
} from '../../../shared/simulation/fleet/checkAlertConsistency';
import { FleetSummary } from '../../../shared/simulation/fleet/FleetSummary';

/**
 * The alert checks of the fleet summary on hand-made records: a clean run passes, and each
 * way alerting can go wrong is named. One device on 7-day leaves: its certificate is critical
 * from 16.8 hours before expiry (the last 10%).
 */

const HUB = 'sim-hub';
const DEVICE = 'dev-1';
const SUBJECT = `${HUB}/${DEVICE}`;
const CERTIFICATE: CertificateIdentity = {
  thumbprintSha256: 'aa'.repeat(32),
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-11-08T00:00:00.000Z',
};
const CRITICAL_FROM = '2026-11-07T07:12:00.000Z';

function transition(
  kind: AlertTransitionKind,
  rule: AlertRule,
  severity: AlertSeverity,
  at: string,
  episodeStartedAt = at,
): AlertTransition {
  const condition = {
    rule,
    severity,
    scope: 'device' as const,
    subject: SUBJECT,
    summary: `Device ${DEVICE} in ${HUB}: ${rule}.`,
    hub: HUB,
    deviceId: DEVICE,
    validUntil: CERTIFICATE.validUntil,
    cause: `issuer=;cohort=;expires=${CERTIFICATE.validUntil.slice(0, 10)}`,
  };
  const id = alertId(condition, episodeStartedAt);
  return {
    ...condition,
    id: transitionId(id, kind, severity),
    alertId: id,
    kind,
    at,
    episodeStartedAt,
  };
}

function certificateEntry(type: AuditEntry['type'], at: string): AuditEntry {
  return {
    id: auditEntryId([type, DEVICE, at]),
    type,
    hub: HUB,
    deviceId: DEVICE,
    occurredAt: at,
    recordedAt: at,
    ...(type === 'certificate.expired' ? { old: CERTIFICATE } : { new: CERTIFICATE }),
  };
}

function delivered(t: AlertTransition, as: 'sent' | 'rolled-up' = 'sent'): AuditEntry {
  return {
    id: auditEntryId(['alert.delivered', 'webhook', t.id]),
    type: 'alert.delivered',
    hub: HUB,
    deviceId: DEVICE,
    occurredAt: t.at,
    recordedAt: t.at,
    delivery: {
      notificationId: t.id,
      alertId: t.alertId,
      rule: t.rule,
      status: t.kind,
      sink: 'webhook',
      deliveredAs: as,
      attempts: as === 'sent' ? 1 : 0,
    },
  };
}

function delivery(t: AlertTransition, state: AlertDelivery['state'] = 'delivered'): AlertDelivery {
  return {
    sink: 'webhook',
    notification: notificationOf(t),
    queuedAt: t.at,
    nextAttemptAt: t.at,
    attempts: state === 'delivered' ? 1 : 0,
    state,
  };
}

interface World {
  transitions: AlertTransition[];
  /** Audit entries other than the transitions' own. */
  certificates: AuditEntry[];
  deliveredAs: Map<string, 'sent' | 'rolled-up' | 'pending'>;
  received: AlertNotification[];
  duplicates: number;
  badSignatures: number;
  malformed: number;
  /** Open at the end: in the device's record and in the store. */
  recordAlerts: AlertState[];
  storeAlerts: AlertState[];
}

/**
 * A clean episode: seen early, critical at the window, resolved by the expiry, which raises
 * certificate-expired (still open at the end); every transition delivered once.
 */
function aCleanRun(): World {
  const critical = transition('raised', 'certificate-expiring', 'critical', CRITICAL_FROM);
  const expiring = transition(
    'resolved',
    'certificate-expiring',
    'critical',
    CERTIFICATE.validUntil,
    CRITICAL_FROM,
  );
  const expired = transition('raised', 'certificate-expired', 'critical', CERTIFICATE.validUntil);
  const transitions = [critical, expiring, expired];
  return {
    transitions,
    certificates: [
      certificateEntry('certificate.first-seen', '2026-11-01T01:00:00.000Z'),
      certificateEntry('certificate.expired', CERTIFICATE.validUntil),
    ],
    deliveredAs: new Map(transitions.map((t) => [t.id, 'sent'])),
    received: transitions.map(notificationOf),
    duplicates: 0,
    badSignatures: 0,
    malformed: 0,
    recordAlerts: [stateOfTransition(expired)],
    storeAlerts: [stateOfTransition(expired)],
  };
}

function recordsOf(world: World): AlertCheckRecords {
  const audit: AuditEntry[] = [
    ...world.certificates,
    ...world.transitions.map((t) => alertAuditEntry(t, t.at)),
    ...world.transitions.flatMap((t) => {
      const as = world.deliveredAs.get(t.id);
      return as === 'sent' || as === 'rolled-up' ? [delivered(t, as)] : [];
    }),
  ];
  const deliveries = world.transitions.flatMap((t) => {
    const as = world.deliveredAs.get(t.id);
    if (as === undefined) return [];
    return [delivery(t, as === 'sent' ? 'delivered' : as)];
  });
  const record = {
    hub: HUB,
    deviceId: DEVICE,
    alerts: world.recordAlerts,
  } as unknown as DeviceRecord;
  return {
    audit,
    ledger: [record],
    alerts: {
      transitions: world.transitions,
      open: world.storeAlerts,
      deliveries,
      received: {
        notifications: world.received,
        duplicates: world.duplicates,
        badSignatures: world.badSignatures,
        malformed: world.malformed,
      },
      log: { alerts: world.transitions.length, deliveryFailures: 0 },
    },
  };
}

function check(world: World): FleetSummary['consistency'] {
  const checks = new ConsistencyChecks();
  checkAlertConsistency(recordsOf(world), DEFAULT_ALERT_SETTINGS, checks);
  return checks.result();
}

describe('the fleet summary’s alert checks', () => {
  it('pass a run whose alerts were raised in time, resolved or held, and delivered once', () => {
    const result = check(aCleanRun());

    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks).toBeGreaterThan(10);
  });

  it('name a certificate that expired with no critical alert before it', () => {
    const world = aCleanRun();
    // Only a warning came before the expiry.
    const warning = transition('raised', 'certificate-expiring', 'warning', CRITICAL_FROM);
    const resolved = transition(
      'resolved',
      'certificate-expiring',
      'warning',
      CERTIFICATE.validUntil,
      CRITICAL_FROM,
    );
    world.transitions.splice(0, 2, warning, resolved);
    world.deliveredAs = new Map(world.transitions.map((t) => [t.id, 'sent']));
    world.received = world.transitions.map(notificationOf);

    expect(check(world).problems).toEqual([
      `${SUBJECT}: certificate expired at ${CERTIFICATE.validUntil} with no critical alert before it (critical from ${CRITICAL_FROM})`,
    ]);
  });

  it('do not count a critical alert raised only at the expiry', () => {
    const world = aCleanRun();
    const late = transition('raised', 'renewal-failed', 'critical', CERTIFICATE.validUntil);
    world.transitions.splice(0, 2, late);
    world.deliveredAs.set(late.id, 'sent');
    world.received = world.transitions.map(notificationOf);
    world.recordAlerts.push(stateOfTransition(late));
    world.storeAlerts.push(stateOfTransition(late));

    expect(check(world).problems).toEqual([
      expect.stringContaining(`${SUBJECT}: certificate expired at ${CERTIFICATE.validUntil}`),
    ]);
  });

  it('ask nothing of a certificate certfleet first saw inside its critical window', () => {
    const world = aCleanRun();
    world.transitions.splice(0, 2);
    world.received = world.transitions.map(notificationOf);
    world.certificates[0] = certificateEntry('certificate.first-seen', '2026-11-07T12:00:00.000Z');

    expect(check(world).problems).toEqual([]);
  });

  it('name an alert raised that was neither resolved nor held open at the end', () => {
    const world = aCleanRun();
    world.recordAlerts = [];
    world.storeAlerts = [];

    const problems = check(world).problems;

    expect(problems).toEqual([
      expect.stringMatching(
        /certificate-expired alert \w+ raised at .*, neither resolved nor open at the end$/,
      ),
    ]);
  });

  it('name an open alert that the store and the device’s record disagree on', () => {
    const world = aCleanRun();
    world.storeAlerts = [];

    expect(check(world).problems).toEqual([
      expect.stringMatching(/the record holds alert \w+, the store does not list it$/),
    ]);
  });

  it('name a second raising in one episode, and an alert id raised twice', () => {
    const world = aCleanRun();
    const again = transition(
      'raised',
      'certificate-expiring',
      'critical',
      '2026-11-07T08:00:00.000Z',
    );
    const sameId = {
      ...world.transitions[0]!,
      id: 'another-transition-id',
      at: '2026-11-07T09:00:00.000Z',
    };
    world.transitions.splice(1, 0, again, sameId);
    world.deliveredAs = new Map(world.transitions.map((t) => [t.id, 'sent']));
    world.received = world.transitions.map(notificationOf);

    const problems = check(world).problems;

    expect(problems).toContainEqual(
      expect.stringContaining(
        `${SUBJECT}: certificate-expiring raised at 2026-11-07T08:00:00.000Z while alert`,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/certificate-expiring alert \w+ raised twice$/),
    );
  });

  it('name a transition that never reached the receiver, or reached it twice', () => {
    const world = aCleanRun();
    const [critical, resolved] = world.transitions;
    world.received = [
      notificationOf(resolved!),
      notificationOf(resolved!),
      ...world.received.slice(2),
    ];

    const problems = check(world).problems;

    expect(problems).toContainEqual(
      `${SUBJECT}: raised certificate-expiring (${critical!.id}) reached the receiver 0 times`,
    );
    expect(problems).toContainEqual(
      `${SUBJECT}: resolved certificate-expiring (${resolved!.id}) reached the receiver 2 times`,
    );
    expect(problems).toContainEqual(`the receiver accepted notification ${resolved!.id} 2 times`);
  });

  it('name a delivery still pending at the end, and one rolled up that was sent anyway', () => {
    const world = aCleanRun();
    const [critical, resolved] = world.transitions;
    world.deliveredAs.set(critical!.id, 'pending');
    world.deliveredAs.set(resolved!.id, 'rolled-up');

    const problems = check(world).problems;

    expect(problems).toContainEqual(
      `${SUBJECT}: raised certificate-expiring (${critical!.id}) still pending at the end (0 attempts)`,
    );
    expect(problems).toContainEqual(
      `${SUBJECT}: resolved certificate-expiring (${resolved!.id}) rolled up into a fleet alert, yet sent`,
    );
  });

  it('pass a transition rolled up into a fleet alert that the receiver never got', () => {
    const world = aCleanRun();
    const [critical] = world.transitions;
    world.deliveredAs.set(critical!.id, 'rolled-up');
    world.received = world.received.filter((n) => n.id !== critical!.id);

    expect(check(world).problems).toEqual([]);
  });

  it('name what the receiver got that no audit record says, and requests it turned away', () => {
    const world = aCleanRun();
    world.received.push({ ...notificationOf(world.transitions[0]!), id: 'not-a-transition' });
    world.badSignatures = 2;

    expect(check(world).problems).toEqual([
      'the receiver got raised certificate-expiring (not-a-transition), which is in no audit record',
      'the receiver turned away 2 badly signed and 0 malformed requests',
    ]);
  });
});
