// The dashboard's HTML shell, served at /. Everything it shows is filled in
// by /static/dashboard.js from the JSON API; nothing is loaded from outside
// this daemon (the CSP says so too).
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>rasad — dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/uPlot.min.css">
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/uPlot.iife.min.js" defer></script>
<script src="/static/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>rasad <small>censorship measurement probe</small></h1>
  <span id="network" class="pill net-normal">network: …</span>
  <span id="control" class="pill control-unknown">control: …</span>
  <span class="spacer"></span>
  <span id="updated" class="meta"></span>
</header>
<main>
  <noscript><p class="error">The dashboard needs JavaScript. The same data is at /api/targets and /api/events, and in <code>rasad status</code>.</p></noscript>
  <div id="error" hidden class="error"></div>
  <div id="control-banner" hidden class="banner" role="alert"></div>
  <section id="summary" class="cards" aria-label="summary"></section>
  <p id="counts" class="counts"></p>
  <section id="events-panel">
    <h2>Events <span class="meta">newest first, times in UTC</span></h2>
    <div id="event-legend" class="legend"></div>
    <div class="panel"><ol id="events" class="events"></ol></div>
  </section>
  <h2>Targets <span class="meta" id="timeline-range"></span></h2>
  <div id="legend" class="legend"></div>
  <section id="targets" aria-label="targets by category"></section>
  <div class="grid2">
    <section>
      <h2>Throughput: median steady rate per sweep</h2>
      <div class="panel"><div id="chart-throughput" class="chart"></div></div>
    </section>
    <section>
      <h2>TLS session lifetime per sweep</h2>
      <div class="panel"><div id="chart-tls" class="chart"></div></div>
    </section>
  </div>
</main>
<footer>rasad · data stays on this machine · <a href="/metrics">/metrics</a></footer>
</body>
</html>
`;
