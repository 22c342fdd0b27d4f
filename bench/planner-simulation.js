#!/usr/bin/env node
// Renewal policies compared on a simulated fleet (issue 4, item 6): a million devices over 90
// days, planner only (shared/simulation/plannerSimulation.ts), under ADR's 500 renewals a minute
// and a lower rate, with an issuing-CA rotation on day 45. Each policy runs in a child process
// of its own, one after the other, so its wall time and peak RSS are its own; the scale line
// times 100k and 1M devices side by side in one process. Prints markdown tables.
// Run: npm run bench:planner (builds first), or node bench/planner-simulation.js after a build.
// Settings: BENCH_DEVICES (1000000), BENCH_DAYS (90), BENCH_LOW_RATE (100), BENCH_SEED (1).
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const dist = path.join(__dirname, '..', 'dist', 'shared');

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 90);
const LOW_RATE = Number(process.env.BENCH_LOW_RATE ?? 100);
const SEED = Number(process.env.BENCH_SEED ?? 1);
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

/** The fleet every policy is run on: the same seed gives the same devices. */
function fleet(devices, policy, renewalsPerMinute, oldCaTrustedForHours) {
  const { DEFAULT_SIMULATION } = require(`${dist}/simulation/plannerSimulation`);
  return {
    ...DEFAULT_SIMULATION,
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
    rotation: {
      atDay: ROTATION_DAY,
      ...(oldCaTrustedForHours === undefined ? {} : { oldCaTrustedForHours }),
    },
  };
}

// --- In a child: one simulation, or the scale pair ---

function simulate(devices, policy, rate, oldCaTrustedForHours) {
  const { simulateFleet } = require(`${dist}/simulation/plannerSimulation`);
  const started = performance.now();
  const result = simulateFleet(fleet(devices, policy, rate, oldCaTrustedForHours));
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
  const result = simulate(spec.devices, spec.policy, spec.rate, spec.oldCaTrustedForHours);
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
      'planning horizon 12 h; expired devices re-provisioned by hand after 72 h.\n',
  );
  for (const { rate, label } of RATES) {
    const rows = [];
    for (const { label: policyLabel, policy } of POLICIES) {
      const result = await runChild({ kind: 'run', devices: DEVICES, policy, rate });
      rows.push(row(policyLabel, result));
    }
    console.log(`### ${label}\n\n${table(rows)}\n`);
  }
  // A rotation whose old issuing CA stops being trusted: what the rate cannot renew in time is lost.
  const rows = [];
  for (const hours of [24, 48]) {
    const { label, policy } = POLICIES[2];
    const result = await runChild({
      kind: 'run',
      devices: DEVICES,
      policy,
      rate: 500,
      oldCaTrustedForHours: hours,
    });
    rows.push(row(`${label}, old CA trusted ${hours} h after the rotation`, result));
  }
  console.log(
    `### 500/min, the rotated CA's old certificates trusted only so long\n\n${table(rows)}\n`,
  );
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

if (process.argv[2] === '--child') {
  process.send(child(JSON.parse(process.argv[3])), () => process.disconnect());
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
