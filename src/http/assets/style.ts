// The dashboard's stylesheet, served as /static/dashboard.css. Colours per
// verdict and event kind are generated from the palette.
import { EVENT_COLORS, VERDICT_COLORS, cssClass, textColorOn } from './palette.js';

const BASE_CSS = `
:root { --fg: #212529; --muted: #6c757d; --line: #e9ecef; --bg: #f8f9fa; --card: #ffffff; --accent: #1864ab; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Vazirmatn", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: #1b2a3a; color: #fff; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
header h1 small { font-weight: 400; opacity: .7; font-size: 13px; margin-left: 8px; }
header .spacer { flex: 1; }
header .meta { font-size: 12px; opacity: .8; }
main { padding: 16px 24px 40px; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 16px; margin: 24px 0 8px; }
h2 .meta { font-size: 12px; font-weight: 400; color: var(--muted); margin-left: 6px; }
h3 { font-size: 14px; margin: 0; padding: 8px 12px; background: #f1f3f5; border-bottom: 1px solid var(--line); display: flex; gap: 8px; align-items: baseline; }
h3 .count { color: var(--muted); font-weight: 400; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-top: 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
.card .value { font-size: 24px; font-weight: 600; }
.card .hint { color: var(--muted); font-size: 11px; }
.card.blocked .value { color: #c92a2a; }
.card.ok .value { color: #2f9e44; }
.pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.net-normal { background: #d3f9d8; color: #2b8a3e; }
.net-offline, .net-captive { background: #dee2e6; color: #343a40; }
.net-shutdown { background: #ffe3e3; color: #c92a2a; }
.control-up { background: #d3f9d8; color: #2b8a3e; }
.control-down { background: #fff3bf; color: #a61e4d; }
.control-unknown { background: #dee2e6; color: #343a40; }
.banner { background: #fff3bf; color: #5c3c00; border: 1px solid #ffd43b; border-left: 6px solid #e67700; border-radius: 6px; padding: 10px 14px; margin-top: 12px; }
.banner strong { margin-right: 6px; }
.banner .helpers { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; margin-top: 4px; word-break: break-all; }
.counts { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.group { margin-bottom: 20px; }
.group > h3.group-title { font-size: 15px; background: none; border-bottom: 2px solid var(--line); padding: 6px 0; margin-bottom: 10px; }
.category { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 12px; overflow: hidden; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 11px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
tr:last-child td { border-bottom: 0; }
td.state { width: 150px; }
td.since { width: 190px; color: var(--muted); font-size: 12px; white-space: nowrap; }
td.timeline { width: 520px; }
td.timeline canvas { display: block; border-radius: 2px; cursor: crosshair; }
.axis { display: flex; justify-content: space-between; font-size: 10px; color: var(--muted); font-weight: 400; text-transform: none; letter-spacing: 0; width: 504px; }
.url { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
.target { color: var(--muted); font-size: 12px; margin-left: 6px; }
.tag { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 4px; background: #e7f5ff; color: #1864ab; font-size: 11px; }
.kinds { font-size: 11px; color: var(--muted); margin-top: 2px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.unconfirmed { opacity: .65; font-style: italic; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 12px; font-size: 12px; color: var(--muted); margin-bottom: 10px; }
.legend span { display: inline-flex; align-items: center; gap: 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.legend .badge { font-size: 11px; padding: 0 6px; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; }
@media (max-width: 1000px) { .grid2 { grid-template-columns: 1fr; } td.timeline { display: none; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
ol.events { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; }
ol.events li { display: grid; grid-template-columns: 130px 120px 1fr; gap: 8px; padding: 6px 2px; border-bottom: 1px solid var(--line); align-items: start; }
ol.events li:last-child { border-bottom: 0; }
ol.events time { color: var(--muted); font-size: 12px; white-space: nowrap; }
ol.events .what { word-break: break-word; }
.empty { color: var(--muted); font-style: italic; padding: 8px 0; }
.error { background: #fff5f5; color: #c92a2a; border: 1px solid #ffc9c9; border-radius: 6px; padding: 8px 12px; margin-top: 12px; }
.chart { min-height: 40px; }
.chart + h2 { margin-top: 20px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
`;

function colorRules(): string {
  const rules: string[] = [];
  for (const [verdict, color] of Object.entries(VERDICT_COLORS)) {
    rules.push(`.${cssClass('v', verdict)} { background: ${color}; color: ${textColorOn(color)}; }`);
  }
  for (const [kind, color] of Object.entries(EVENT_COLORS)) {
    rules.push(`.${cssClass('k', kind)} { background: ${color}; color: ${textColorOn(color)}; }`);
  }
  return rules.join('\n');
}

export const DASHBOARD_CSS = `${BASE_CSS}\n${colorRules()}\n`;
