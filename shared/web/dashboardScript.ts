import { createHash } from 'node:crypto';

/**
 * What the dashboard's charts are drawn from: numbers and certfleet's own names only (states,
 * rules, dates), never a device id or an issuer, embedded in the page as JSON.
 */
export interface DashboardChartData {
  states: { name: string; devices: number; colour: string }[];
  expiry: { expired: number; days: { date: string; devices: number }[] };
  outcomes: { date: string; renewed: number; failed: number; expired: number }[];
  alertsByRule: { rule: string; alerts: number }[];
}

/** The id of the `<script type="application/json">` element that holds the chart data. */
export const CHART_DATA_ELEMENT_ID = 'dashboard-data';

/**
 * The page's own script: reads the chart data and draws four charts with Chart.js. The numbers
 * are in the page's tables already, so without it (or without Chart.js) nothing is lost but the
 * pictures. It marks the document `data-charts="ready"` once drawn (`"unavailable"` when it
 * cannot draw), which the browser test and the screenshot script wait for. Animation is off:
 * the charts are read, not watched, and a screenshot must not catch one half drawn.
 *
 * Plain ES2017 in a string: it is sent as it is, and the Content-Security-Policy allows it by
 * its hash (DASHBOARD_SCRIPT_HASH), not by allowing inline scripts in general.
 */
export const DASHBOARD_SCRIPT = `(function () {
  'use strict';
  var root = document.documentElement;
  function unavailable(why) {
    root.setAttribute('data-charts', 'unavailable');
    var note = document.getElementById('charts-note');
    if (note) {
      note.textContent = why + ' The numbers are in the tables below each chart.';
      note.hidden = false;
    }
  }
  var data;
  try {
    data = JSON.parse(document.getElementById('${CHART_DATA_ELEMENT_ID}').textContent);
  } catch (e) {
    unavailable('The chart data could not be read.');
    return;
  }
  var Chart = window.Chart;
  if (typeof Chart !== 'function') {
    unavailable('Chart.js did not load, so the charts are not drawn.');
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.color = '#334155';
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }
  var countAxis = { beginAtZero: true, ticks: { precision: 0 } };
  var barThickness = 28;
  draw('chart-states', {
    type: 'bar',
    data: {
      labels: data.states.map(function (s) { return s.name; }),
      datasets: [{
        label: 'Devices',
        data: data.states.map(function (s) { return s.devices; }),
        backgroundColor: data.states.map(function (s) { return s.colour; }),
        maxBarThickness: barThickness
      }]
    },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: countAxis } }
  });
  draw('chart-expiry', {
    type: 'bar',
    data: {
      labels: ['expired'].concat(data.expiry.days.map(function (d) { return d.date.slice(5); })),
      datasets: [{
        label: 'Certificates',
        data: [data.expiry.expired].concat(data.expiry.days.map(function (d) { return d.devices; })),
        backgroundColor: ['#991b1b'].concat(data.expiry.days.map(function () { return '#2563eb'; }))
      }]
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: countAxis }
    }
  });
  function outcome(label, key, colour) {
    return {
      label: label,
      data: data.outcomes.map(function (d) { return d[key]; }),
      backgroundColor: colour
    };
  }
  draw('chart-outcomes', {
    type: 'bar',
    data: {
      labels: data.outcomes.map(function (d) { return d.date.slice(5); }),
      datasets: [
        outcome('renewed', 'renewed', '#16a34a'),
        outcome('failed', 'failed', '#ea580c'),
        outcome('expired', 'expired', '#991b1b')
      ]
    },
    options: {
      scales: { x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } }, y: Object.assign({ stacked: true }, countAxis) }
    }
  });
  draw('chart-alerts', {
    type: 'bar',
    data: {
      labels: data.alertsByRule.map(function (a) { return a.rule; }),
      datasets: [{
        label: 'Open alerts',
        data: data.alertsByRule.map(function (a) { return a.alerts; }),
        backgroundColor: '#b45309',
        maxBarThickness: barThickness
      }]
    },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: countAxis } }
  });
  root.setAttribute('data-charts', 'ready');
})();
`;

/** The CSP source that allows exactly DASHBOARD_SCRIPT inline. */
export const DASHBOARD_SCRIPT_HASH = cspHash(DASHBOARD_SCRIPT);

export function cspHash(content: string): string {
  return `'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`;
}
