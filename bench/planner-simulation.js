#!/usr/bin/env node
// Renewal policies compared on a simulated fleet: a million devices over 90
// days, planner only (shared/simulation/plannerSimulation.ts), under ADR's 500 renewals a minute
// and a lower rate, with an issuing-CA rotation on day 45. Each policy runs in a child process
// of its own, one after the other, so its wall time and peak RSS are its own; the scale line
// times 100k and 1M devices side by side in one process. Prints markdown tables. The default
// policy is also run calling every device the plan picks, offline or not (the blind try over the
// whole lifetime), as certfleet did before it waited for devices known to be offline to connect.
// The rotation table puts the rotation as today (the old CA revoked with no notice, its
// certificates trusted 24 or 48 hours more) beside a planned one (announced 7 days ahead, the
// service's plan giving each device a slot, deadline the end of the old CA's trust), at 85%.
// Run: npm run bench:planner (builds first), or node bench/planner-simulation.js after a build.
// Settings: BENCH_DEVICES (1000000), BENCH_DAYS (90), BENCH_LOW_RATE (100), BENCH_SEED (1),
// BENCH_PARTS (policies,rotation,scale: the tables to print, comma-separated).
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const dist = path.join(__dirname, '..', 'dist', 'shared');

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 90);
const LOW_RATE = Number(process.env.BENCH_LOW_RATE ?? 100);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'policies,rotation,scale').split(','));
const HOUR_MS = 3_600_000;

const RATES = [
  { rate: 500, label: "500/min: ADR's certificate management limit" },
  { rate: LOW_RATE, label: `${LOW_RATE}/min: a lower rate (a quota shared with other work)` },
];

const POLICIES = [
  {
    label: '2/3 of the lifetime (cert-manager, smallstep)',
    policy: { kind: 'fraction', fraction: 2 / 3 },
  },
  {
    label: '80% (Key Vault, Microsoft device guidance)',
    policy: { kind: 'fraction', fraction: 0.8 },
  },
  { label: "85% (certfleet's default)", policy: { kind: 'fraction', fraction: 0.85 } },
  { label: 'renewBefore 24 h', policy: { kind: 'before', renewBeforeMs: 24 * HOUR_MS } },
];

const ROTATION_DAY = Math.min(45, DAYS / 2);
const ANNOUNCED_DAYS_AHEAD = Math.min(7, ROTATION_DAY);
const PLANNED_TRUST_HOURS = 48;

/** certfleet's renewal timing, calling devices known to be offline (the blind try: 90 days). */
const CALLING_OFFLINE = { offlineBlindTryMs: 90 * 24 * HOUR_MS };

/** The fleet every policy is run on: the same seed gives the same devices. */
function fleet(devices, policy, renewalsPerMinute, rotation, timing) {
  const { DEFAULT_SIMULATION } = require(`${dist}/simulation/plannerSimulation`);
  return {
    ...DEFAULT_SIMULATION,
    timing: { ...DEFAULT_SIMULATION.timing, ...timing },
    seed: SEED,
    devices,
    days: DAYS,
    cohorts: [
      { share: 0.3, lifetimeDays: 7, provisioned: { kind: 'spread' } },
      { share: 0.4, lifetimeDays: 30, provisioned: { kind: 'spread' } },
      { share: 0.1, lifetimeDays: 90, provisioned: { kind: 'spread' } },
      // A production line's batch: 30-day certificates issued in one hour, 10 days ago.
      { share: 0.2, lifetimeDays: 30, provisioned: { kind: 'sameHour', hoursBeforeStart: 240 } },
    ],
    behaviours: {
      selfRenewing: 0.5,
      partTime: { share: 0.2, onlineHoursPerDay: 4 },
      unreliable: { share: 0.05, refuse: 0.3, fail: 0.2 },
    },
    policy,
    renewalsPerMinute,
    horizonHours: 12,
    reprovisionAfterHours: 72,
    ...(rotation === null ? {} : { rotation: { atDay: ROTATION_DAY, ...rotation } }),
  };
}

// --- In a child: one simulation, or the scale pair ---

function simulate(devices, policy, rate, rotation, timing) {
  const { simulateFleet } = require(`${dist}/simulation/plannerSimulation`);
  const started = performance.now();
  const result = simulateFleet(fleet(devices, policy, rate, rotation, timing));
  const wallMs = performance.now() - started;
  // Everything but the per-minute counts goes back to the parent.
  const summary = { ...result, wallMs };
  delete summary.requestsPerMinute;
  return summary;
}

function child(spec) {
  if (spec.kind === 'scale') {
    // Both sizes in this process, in turn, twice; the faster of each pair of runs is the one
    // least disturbed by whatever else the machine is doing.
    const times = { small: [], large: [] };
    for (let round = 0; round < 2; round += 1) {
      times.small.push(simulate(spec.small, spec.policy, spec.rate).wallMs);
      times.large.push(simulate(spec.large, spec.policy, spec.rate).wallMs);
    }
    return { small: Math.min(...times.small), large: Math.min(...times.large) };
  }
  const result = simulate(
    spec.devices,
    spec.policy,
    spec.rate,
    spec.rotation === undefined ? {} : spec.rotation,
    spec.timing,
  );
  return { ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

function runChild(spec) {
  return new Promise((resolve, reject) => {
    const worker = fork(path.join(__dirname, 'planner-simulation.js'), [
      '--child',
      JSON.stringify(spec),
    ]);
    let answer;
    worker.on('message', (message) => (answer = message));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      code === 0 && answer ? resolve(answer) : reject(new Error(`child exited with ${code}`)),
    );
  });
}

// --- The report ---

const n = (value) => Math.round(value).toLocaleString('en-US');

function row(label, r) {
  const lost = r.expired.couldNotBeSaved;
  const cleared = r.rotation?.backlogClearedAfterMinutes;
  const busiest = Math.max(...r.renewalsPerDay.certfleet);
  return [
    label,
    `${n(lost.offline)} / ${n(lost.refusedOrFailed)} / ${n(lost.overCapacity + lost.policyTooLate)}`,
    n(r.expired.whileCapacityExisted),
    `${n(r.peakRequestsPerMinute)} (${n(r.renewalsPerMinute)})`,
    `${n(r.renewals.self)} / ${n(r.renewals.certfleet)} / ${n(r.renewals.manual)}`,
    `${n(busiest)}`,
    `${n(r.directMethodCalls.total)} (${n(r.directMethodCalls.offline)} offline)`,
    r.callsPerCertfleetRenewal.toFixed(2),
    n(r.awaitedConnection),
    `${n(r.startedEarly.renewals)}, ≤ ${n(r.startedEarly.maxMinutes)} min`,
    cleared === undefined ? 'never' : `${(cleared / 60).toFixed(1)} h`,
    n(r.peakIssuedPerMinute),
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${n(r.maxRssMb)} MB`,
  ];
}

const HEADER = [
  'policy',
  'expired, not savable: offline / refused or failed / over capacity',
  'expired while capacity existed',
  'peak requests/min (rate)',
  'renewals: self / certfleet / manual',
  'busiest day (certfleet)',
  'direct-method calls',
  'calls per certfleet renewal',
  'known offline: not called, asked on connect',
  'started early (renewals, by at most)',
  'rotation backlog cleared after',
  'issued in the busiest minute, all paths',
  'wall',
  'peak RSS',
];

function table(rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...rows.map(line)].join('\n');
}

async function main() {
  console.log(
    `${n(DEVICES)} devices over ${DAYS} days, seed ${SEED}; issuing CA rotated on day ${ROTATION_DAY}.`,
  );
  console.log(
    'Fleet: 30% 7-day, 40% 30-day, 10% 90-day certificates (spread), 20% 30-day issued in one hour 10 days before; ' +
      '50% renew themselves at 80%, 20% online 4 h a day, 5% refuse (30%) or fail (20%) sometimes; ' +
      'planning horizon 12 h; expired devices re-provisioned by hand after 72 h; devices known to be offline ' +
      '(connection-state events) are not called but asked when they connect, or tried blindly 6 h before expiry.\n',
  );
  for (const { rate, label } of PARTS.has('policies') ? RATES : []) {
    const rows = [];
    for (const { label: policyLabel, policy } of POLICIES) {
      const result = await runChild({ kind: 'run', devices: DEVICES, policy, rate });
      rows.push(row(policyLabel, result));
    }
    const calling = await runChild({
      kind: 'run',
      devices: DEVICES,
      policy: POLICIES[2].policy,
      rate,
      timing: CALLING_OFFLINE,
    });
    rows.push(row(`${POLICIES[2].label}, calling devices known to be offline (before)`, calling));
    console.log(`### ${label}\n\n${table(rows)}\n`);
  }
  if (PARTS.has('rotation')) await rotationTables();
  if (!PARTS.has('scale')) return;
  const small = Math.max(1, Math.round(DEVICES / 10));
  const scale = await runChild({
    kind: 'scale',
    small,
    large: DEVICES,
    policy: POLICIES[2].policy,
    rate: 500,
  });
  console.log(
    `Scale, one process, fastest of 2 rounds (85%, 500/min): ${n(small)} devices ${(scale.small / 1000).toFixed(1)} s, ` +
      `${n(DEVICES)} devices ${(scale.large / 1000).toFixed(1)} s: ratio ${(scale.large / scale.small).toFixed(1)} ` +
      `for ${(DEVICES / small).toFixed(0)} times the devices.`,
  );
}

// --- The rotation table: as today against planned ---

const MINUTES_PER_DAY = 1440;
const hours = (minutes) => `${(minutes / 60).toFixed(1)} h`;
const causes = (lost) =>
  `${n(lost.offline)} / ${n(lost.refusedOrFailed)} / ${n(lost.overCapacity + lost.policyTooLate)}`;
const sum = (lost) =>
  lost.offline +
  lost.refusedOrFailed +
  lost.overCapacity +
  lost.policyTooLate +
  lost.whileCapacityExisted;

/** When `share` of the replacements in the window had been made, from its opening. */
function replacedBy(perHour, share) {
  const total = perHour.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let hour = 0; hour < perHour.length; hour += 1) {
    seen += perHour[hour];
    if (seen >= share * total) return (hour + 1) * 60;
  }
  return undefined;
}

const ROTATION_HEADER = [
  'rotation, rate',
  'window: from the announcement (or the revocation) to the deadline',
  'old-CA certificates at its opening',
  'replaced in time: self / certfleet',
  'lost in the window: offline / refused or failed / over capacity (total)',
  'of them cut off at the deadline',
  'lost although online at some point in the window (over capacity)',
  '99% of the replacements made after',
  'last replacement, before the deadline by',
  'slots (planned): devices, share of free capacity, most a minute, last slot',
  'calls per certfleet renewal',
  'expired in the whole run: offline / refused or failed / over capacity',
  'wall',
  'peak RSS',
];

function rotationRow(label, r) {
  const rot = r.rotation;
  const window = rot.window;
  const deadline = window.deadlineMinute;
  const planned = rot.planned;
  const p99 = replacedBy(rot.replacedPerHour, 0.99);
  const slots = planned
    ? `${n(planned.plan.slotted)}, ${(planned.plan.spread * 100).toFixed(0)}%, ${n(planned.peakSlotsPerMinute)}, ` +
      `day ${((Date.parse(planned.plan.lastSlotAt ?? planned.plan.start) - Date.parse(planned.plan.start)) / 86_400_000 + planned.declaredAtMinute / MINUTES_PER_DAY).toFixed(2)}`
    : '-';
  return [
    label,
    `day ${(window.fromMinute / MINUTES_PER_DAY).toFixed(0)} to ${(deadline / MINUTES_PER_DAY).toFixed(0)} (${hours(deadline - window.fromMinute)})`,
    n(rot.affected),
    `${n(rot.replaced.self)} / ${n(rot.replaced.certfleet)}`,
    `${causes(rot.lost)} (${n(sum(rot.lost))})`,
    n(rot.lostAtDeadline),
    `${n(sum(rot.lostOnlineInWindow))} (${n(rot.lostOnlineInWindow.overCapacity + rot.lostOnlineInWindow.whileCapacityExisted)})`,
    p99 === undefined ? '-' : hours(p99),
    rot.lastReplacedAtMinute === undefined ? '-' : hours(deadline - rot.lastReplacedAtMinute),
    slots,
    r.callsPerCertfleetRenewal.toFixed(2),
    `${causes(r.expired.couldNotBeSaved)} (${n(r.expired.total)})`,
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${n(r.maxRssMb)} MB`,
  ];
}

/** The fleet with no rotation at all: what it loses in the planned rotation's days anyway. */
function baselineRow(label, r, from, to) {
  const lost = {};
  for (const [cause, perDay] of Object.entries(r.expiredPerDay))
    lost[cause] = perDay.slice(from, to + 1).reduce((a, b) => a + b, 0);
  return [
    label,
    `days ${from} to ${to}, the planned window's`,
    '-',
    '-',
    `${causes(lost)} (${n(sum(lost))})`,
    '-',
    '-',
    '-',
    '-',
    '-',
    r.callsPerCertfleetRenewal.toFixed(2),
    `${causes(r.expired.couldNotBeSaved)} (${n(r.expired.total)})`,
    `${(r.wallMs / 1000).toFixed(1)} s`,
    `${n(r.maxRssMb)} MB`,
  ];
}

async function rotationTables() {
  const { policy } = POLICIES[2];
  const rotations = [
    { label: 'as today, old CA trusted 24 h', rotation: { oldCaTrustedForHours: 24 } },
    { label: 'as today, old CA trusted 48 h', rotation: { oldCaTrustedForHours: 48 } },
    {
      label: `planned: announced ${ANNOUNCED_DAYS_AHEAD} days ahead, deadline ${PLANNED_TRUST_HOURS} h after the revocation`,
      rotation: {
        oldCaTrustedForHours: PLANNED_TRUST_HOURS,
        announcedDaysAhead: ANNOUNCED_DAYS_AHEAD,
      },
    },
  ];
  const rows = [];
  const from = Math.floor(ROTATION_DAY - ANNOUNCED_DAYS_AHEAD);
  // The planned window's whole days: from the announcement to the day before the deadline.
  const to = Math.ceil(ROTATION_DAY + PLANNED_TRUST_HOURS / 24) - 1;
  for (const { rate } of RATES) {
    const none = await runChild({ kind: 'run', devices: DEVICES, policy, rate, rotation: null });
    rows.push(baselineRow(`no rotation, ${rate}/min`, none, from, to));
    for (const { label, rotation } of rotations) {
      const result = await runChild({ kind: 'run', devices: DEVICES, policy, rate, rotation });
      rows.push(rotationRow(`${label}, ${rate}/min`, result));
    }
  }
  const line = (cells) => `| ${cells.join(' | ')} |`;
  console.log(
    `### A CA rotation as today against a planned one (85%, old CA revoked on day ${ROTATION_DAY})\n\n` +
      [line(ROTATION_HEADER), line(ROTATION_HEADER.map(() => '---')), ...rows.map(line)].join(
        '\n',
      ) +
      '\n',
  );
}

if (process.argv[2] === '--child') {
  process.send(child(JSON.parse(process.argv[3])), () => process.disconnect());
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
