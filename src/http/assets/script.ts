// The dashboard's browser script, served as /static/dashboard.js. Plain ES5-
// style JavaScript in a string (no build step). Every value from the store is
// put in the page with textContent, never as HTML.
import { isSilent } from '../../analysis/change-types.js';
import { EVENT_KINDS, VERDICTS } from '../../model.js';
import { VERDICT_COLORS } from './palette.js';

const CLIENT_JS = String.raw`(function () {
  'use strict';
  var COLORS = __COLORS__;
  var EVENT_KINDS = __EVENT_KINDS__;
  // Verdicts the change detector never confirms: an input seen only so is what it was, not "pending".
  var SILENT = __SILENT__;
  var DAYS = 7;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function cls(prefix, name) { return prefix + '-' + String(name).replace(/[^A-Za-z0-9_-]/g, '-'); }
  function getJson(path) {
    return fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function shortTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }
  function ago(iso) {
    var s = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!isFinite(s)) return '';
    if (s < 0) s = 0;
    if (s < 90) return 'just now';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function rate(bps) {
    if (bps === null || bps === undefined) return '–';
    if (bps >= 1048576) return (bps / 1048576).toFixed(1) + ' MB/s';
    if (bps >= 1024) return (bps / 1024).toFixed(0) + ' kB/s';
    return Math.round(bps) + ' B/s';
  }
  function badge(text, klass) { return el('span', 'badge ' + klass, text); }

  function runText(label, run) {
    return run ? 'last ' + label + ' sweep ' + shortTime(run.started_at) + ' UTC (' + run.status + ', ' + run.units + ' units)' : 'no ' + label + ' sweep yet';
  }

  function renderControl(c) {
    var pill = document.getElementById('control');
    pill.className = 'pill control-' + c.state;
    pill.textContent = 'control: ' + (c.state === 'up' ? 'answering' : c.state === 'down' ? 'DOWN' : 'not asked yet');
    var helpers = (c.helpers || []).map(function (h) { return h.url + (h.up ? ' up' : ' ' + (h.failure || 'down')); }).join('; ');
    pill.title = c.last_checked ? c.last_checked.answered + ' of ' + c.last_checked.asked + ' queries answered in the sweep of ' + shortTime(c.last_checked.at) + ' UTC' + (helpers ? ' · ' + helpers : '')
      : 'no sweep asked a control yet (none configured, or no web sweep since it was)';
    var banner = document.getElementById('control-banner');
    banner.textContent = '';
    if (c.state !== 'down') {
      banner.hidden = true;
      return;
    }
    banner.hidden = false;
    banner.appendChild(el('strong', null, 'No control answers' + (c.since ? ' since ' + shortTime(c.since) + ' UTC' : '') + ': verdicts that need it are inconclusive.'));
    var more = c.recovering ? ' A later sweep got answers again; not yet confirmed.' : ' Blocking that leaves positive evidence (a blockpage fingerprint, an injected address, a certificate) is still found.';
    banner.appendChild(document.createTextNode(more));
    if (helpers) banner.appendChild(el('div', 'helpers', helpers));
  }

  function renderSummary(t) {
    var net = document.getElementById('network');
    net.className = 'pill net-' + t.network.mode;
    net.textContent = 'network: ' + t.network.mode + (t.network.since ? ' since ' + shortTime(t.network.since) + ' UTC' : '');
    renderControl(t.control);
    var updated = document.getElementById('updated');
    updated.textContent = runText('web', t.last_run) + ' · ' + runText('long', t.last_long_run);
    var cards = document.getElementById('summary');
    cards.textContent = '';
    var units = 0;
    Object.keys(t.counts.units).forEach(function (k) { units += t.counts.units[k]; });
    [['Targets', t.counts.targets, '', 'lines of the targets file measured'],
     ['Inputs', t.counts.inputs, '', 'web addresses, tcp endpoints, apps and tools'],
     ['Units', units, '', 'inputs × experiments measuring them'],
     ['Blocked', t.totals.blocked, 'blocked', 'inputs confirmed blocked'],
     ['OK', t.totals.ok, 'ok', 'inputs confirmed ok'],
     ['Pending', t.totals.pending, '', 'a change being confirmed'],
     ['Other', t.totals.other, '', 'down, inconclusive, offline or geoblocked every sweep']].forEach(function (c) {
      var card = el('div', 'card ' + c[2]);
      card.setAttribute('data-count', c[0].toLowerCase());
      card.appendChild(el('div', 'label', c[0]));
      card.appendChild(el('div', 'value', c[1]));
      card.appendChild(el('div', 'hint', c[3]));
      cards.appendChild(card);
    });
    var perKind = Object.keys(t.counts.units).map(function (k) { return k + ' ' + t.counts.units[k]; }).join(', ');
    document.getElementById('counts').textContent = t.counts.targets + ' targets (lines of the targets file; circumvention-tagged ones are skipped unless probeCircumvention is on) expand into ' +
      t.counts.inputs + ' inputs (web addresses and tcp endpoints, messaging apps, circumvention endpoints). Each experiment that measures an input is one unit of every sweep of its schedule: ' +
      (perKind || 'none yet') + '. Blocked, OK, Pending and Other count inputs; rasad_targets in /metrics counts units.';
  }

  function renderLegend(timeline) {
    var legend = document.getElementById('legend');
    legend.textContent = '';
    timeline.verdicts.forEach(function (v) {
      var item = el('span');
      var swatch = el('i', cls('v', v));
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(v));
      legend.appendChild(item);
    });
    var none = el('span');
    var sw = el('i');
    sw.className = 'v-none';
    sw.style.background = '#f1f3f5';
    sw.style.border = '1px solid #dee2e6';
    none.appendChild(sw);
    none.appendChild(document.createTextNode('not measured'));
    legend.appendChild(none);
    var events = document.getElementById('event-legend');
    events.textContent = '';
    EVENT_KINDS.forEach(function (k) { events.appendChild(badge(k, cls('k', k))); });
    document.getElementById('timeline-range').textContent = '· timelines: ' + shortTime(timeline.start) + ' → ' + shortTime(timeline.end) + ' UTC';
  }

  var CELL = 3;
  function drawTimeline(canvas, cells, timeline) {
    var ratio = window.devicePixelRatio || 1;
    var w = timeline.slots * CELL, h = 16;
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    var ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.fillStyle = '#f1f3f5';
    ctx.fillRect(0, 0, w, h);
    for (var i = 0; i < cells.length; i++) {
      if (cells[i] < 0) continue;
      ctx.fillStyle = COLORS[timeline.verdicts[cells[i]]] || '#868e96';
      ctx.fillRect(i * CELL, 0, CELL, h);
    }
    // A faint line at each midnight (UTC), so that days can be told apart.
    var start = new Date(timeline.start).getTime();
    var slotMs = timeline.slot_s * 1000;
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    for (var day = Math.ceil(start / 86400000) * 86400000; day < start + timeline.slots * slotMs; day += 86400000) {
      ctx.fillRect(Math.round(((day - start) / slotMs) * CELL), 0, 1, h);
    }
    canvas.addEventListener('mousemove', function (ev) {
      var slot = Math.floor(ev.offsetX / CELL);
      var start = new Date(timeline.start).getTime() + slot * timeline.slot_s * 1000;
      var v = cells[slot];
      canvas.title = shortTime(new Date(start).toISOString()) + ' UTC: ' + (v >= 0 ? timeline.verdicts[v] : 'not measured');
    });
  }

  // One experiment's state of an input, as rasad status shows it.
  function kindText(s) {
    if (s.confirmed) return s.confirmed;
    if (s.pending) return 'pending (' + s.pending.verdict + '? ' + s.pending.count + '×)';
    if (s.last_verdict && SILENT[s.last_verdict]) return s.last_verdict;
    return 'not measured';
  }

  // A group's own counts: its inputs by status, and its units per experiment.
  function groupCounts(g) {
    var units = Object.keys(g.counts.units).map(function (k) { return k + ' ' + g.counts.units[k]; }).join(', ');
    return g.totals.inputs + (g.totals.inputs === 1 ? ' input' : ' inputs') + ' of ' + g.counts.targets + (g.counts.targets === 1 ? ' target' : ' targets') +
      ' · ' + g.totals.blocked + ' blocked · ' + g.totals.ok + ' ok · ' + g.totals.pending + ' pending · ' + g.totals.other + ' other' + (units ? ' · units: ' + units : '');
  }

  function renderCategory(cat, rows, timeline) {
    var box = el('section', 'category');
    box.setAttribute('data-category', cat.category);
    var h = el('h3', null, cat.category);
    h.appendChild(el('span', 'count', cat.inputs.length + (cat.inputs.length === 1 ? ' input' : ' inputs')));
    box.appendChild(h);
    var table = el('table');
    var head = el('tr');
    head.appendChild(el('th', null, 'State'));
    head.appendChild(el('th', null, 'Input'));
    head.appendChild(el('th', null, 'Since'));
    var th = el('th');
    var axis = el('div', 'axis');
    axis.appendChild(el('span', null, DAYS + ' days ago'));
    axis.appendChild(el('span', null, 'now'));
    th.appendChild(axis);
    head.appendChild(th);
    table.appendChild(head);
    cat.inputs.forEach(function (input) { table.appendChild(renderInput(input, rows, timeline)); });
    box.appendChild(table);
    return box;
  }

  function renderInput(input, rows, timeline) {
    var tr = el('tr', 'target-row' + (input.unconfirmed ? ' unconfirmed' : ''));
    tr.setAttribute('data-url', input.url);
    var tdState = el('td', 'state');
    tdState.appendChild(badge(input.state, cls('v', input.state)));
    tr.appendChild(tdState);
    var tdUrl = el('td');
    tdUrl.appendChild(el('span', 'url', input.url));
    if (input.target && input.target !== input.url) tdUrl.appendChild(el('span', 'target', input.target));
    (input.tags || []).forEach(function (tag) { tdUrl.appendChild(el('span', 'tag', tag)); });
    // The badge is the web state, or the only experiment's (an app's, a tool's): the others are listed.
    var measuredBy = Object.keys(input.kinds || {});
    var kinds = measuredBy.length > 1 ? measuredBy.filter(function (k) { return k !== 'web'; }) : [];
    if (kinds.length) {
      tdUrl.appendChild(el('div', 'kinds', kinds.map(function (k) { return k + ': ' + kindText(input.kinds[k]); }).join(' · ')));
    }
    tr.appendChild(tdUrl);
    var tdSince = el('td', 'since', shortTime(input.since) + ' UTC');
    tdSince.appendChild(el('div', null, ago(input.since)));
    tr.appendChild(tdSince);
    var tdLine = el('td', 'timeline');
    var canvas = el('canvas');
    canvas.setAttribute('aria-label', 'verdicts of ' + input.url + ' over ' + DAYS + ' days');
    drawTimeline(canvas, rows[input.url] || [], timeline);
    tdLine.appendChild(canvas);
    tr.appendChild(tdLine);
    return tr;
  }

  function renderTargets(t, timeline) {
    var root = document.getElementById('targets');
    root.textContent = '';
    var rows = {};
    timeline.inputs.forEach(function (r) { rows[r.url] = r.cells; });
    if (!t.categories.length) {
      root.appendChild(el('p', 'empty', 'No measurements yet. The first sweep fills this page.'));
      return;
    }
    // Websites, messaging apps and circumvention tools, each with its own counts; an empty group is left out.
    t.groups.forEach(function (g) {
      if (!g.totals.inputs) return;
      var section = el('section', 'group');
      section.setAttribute('data-group', g.group);
      var h = el('h3', 'group-title', g.label);
      h.appendChild(el('span', 'count', groupCounts(g)));
      section.appendChild(h);
      g.categories.forEach(function (cat) { section.appendChild(renderCategory(cat, rows, timeline)); });
      root.appendChild(section);
    });
  }

  function renderEvents(data) {
    var list = document.getElementById('events');
    list.textContent = '';
    if (!data.events.length) {
      list.appendChild(el('li', 'empty', 'No change events yet.'));
      return;
    }
    data.events.forEach(function (e) {
      var li = el('li', 'event');
      li.setAttribute('data-kind', e.kind);
      var time = el('time', null, shortTime(e.at));
      time.setAttribute('datetime', e.at);
      li.appendChild(time);
      var k = el('div');
      k.appendChild(badge(e.kind, cls('k', e.kind)));
      li.appendChild(k);
      li.appendChild(el('div', 'what', e.text));
      list.appendChild(li);
    });
  }

  var charts = [];
  function utc(ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); }
  function chart(containerId, data, series, axisValue, empty) {
    var box = document.getElementById(containerId);
    box.textContent = '';
    if (!data[0].length) {
      box.appendChild(el('p', 'empty', empty));
      return;
    }
    if (typeof uPlot === 'undefined') {
      box.appendChild(el('p', 'empty', 'Charts unavailable (uPlot did not load).'));
      return;
    }
    var width = Math.max(300, box.clientWidth - 4);
    var opts = {
      width: width,
      height: 220,
      tzDate: utc,
      scales: { x: { time: true } },
      series: [{}].concat(series),
      axes: [{}, { size: 70, values: function (u, vals) { return vals.map(axisValue); } }],
      legend: { live: true },
    };
    charts.push(new uPlot(opts, data, box));
  }

  function renderCharts(c) {
    charts.forEach(function (ch) { ch.destroy(); });
    charts = [];
    chart('chart-throughput', [c.throughput.t, c.throughput.domestic, c.throughput.foreign],
      [{ label: 'domestic', stroke: '#2f9e44', width: 2, value: function (u, v) { return rate(v); } },
       { label: 'foreign', stroke: '#c92a2a', width: 2, value: function (u, v) { return rate(v); } }],
      rate, 'No throughput measurements in the last ' + DAYS + ' days.');
    var horizon = c.tls.t.map(function () { return c.tls.horizon_s; });
    chart('chart-tls', [c.tls.t, c.tls.min_s, c.tls.median_s, horizon],
      [{ label: 'shortest', stroke: '#7048e8', width: 2, value: function (u, v) { return v === null || v === undefined ? '–' : v.toFixed(0) + ' s'; } },
       { label: 'median', stroke: '#1971c2', width: 2, value: function (u, v) { return v === null || v === undefined ? '–' : v.toFixed(0) + ' s'; } },
       { label: 'horizon', stroke: '#adb5bd', width: 1, dash: [4, 4] }],
      function (v) { return v === null || v === undefined ? '' : v + ' s'; }, 'No TLS session measurements in the last ' + DAYS + ' days.');
  }

  function showError(err) {
    var box = document.getElementById('error');
    box.hidden = false;
    box.textContent = 'Could not load the data: ' + (err && err.message ? err.message : String(err));
  }

  function load() {
    Promise.all([
      getJson('/api/targets'),
      getJson('/api/timeline?days=' + DAYS),
      getJson('/api/events?limit=100'),
      getJson('/api/charts?days=' + DAYS),
    ]).then(function (r) {
      document.getElementById('error').hidden = true;
      renderSummary(r[0]);
      renderLegend(r[1]);
      renderTargets(r[0], r[1]);
      renderEvents(r[2]);
      renderCharts(r[3]);
      document.body.setAttribute('data-loaded', 'true');
    }).catch(showError);
  }

  // A ?token= visit set a cookie; drop the token from the address bar and history.
  if (/[?&]token=/.test(location.search)) history.replaceState(null, '', location.pathname);
  load();
  setInterval(load, 60000);
})();
`;

export const DASHBOARD_JS = CLIENT_JS.replace('__COLORS__', JSON.stringify(VERDICT_COLORS))
  .replace('__EVENT_KINDS__', JSON.stringify(EVENT_KINDS))
  .replace('__SILENT__', JSON.stringify(Object.fromEntries(VERDICTS.filter(isSilent).map((v) => [v, 1]))));
