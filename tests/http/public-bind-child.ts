// Run by public-bind.test.ts inside a fresh network namespace (unshare -rn,
// where only `lo` exists): starts the server bound to 0.0.0.0, which is not
// loopback, and reports what each route answers with and without the token.
import pino from 'pino';
import { Metrics } from '../../src/http/metrics.js';
import { startHttpServer } from '../../src/http/server.js';
import { Store } from '../../src/store/store.js';

const logger = pino({ level: 'silent' });
const store = Store.open(':memory:');
const metrics = new Metrics();
const result: Record<string, unknown> = {};

try {
  const s = await startHttpServer({ store, config: { http: { enabled: true, bind: '0.0.0.0', port: 0, perTargetMetrics: false } }, metrics, logger });
  result.withoutToken = 'started';
  await s.close();
} catch (err) {
  result.withoutToken = (err as Error).message;
}

const token = 'tok-netns-7c1';
const server = await startHttpServer({ store, config: { http: { enabled: true, bind: '0.0.0.0', port: 0, token, perTargetMetrics: false } }, metrics, logger });
const port = new URL(server.url).port;
result.url = server.url;
const routes = ['/', '/metrics', '/api/targets', '/api/events', '/api/measurements', '/api/timeline', '/api/charts', '/static/dashboard.js', '/static/uPlot.iife.min.js'];
const statuses: Record<string, Record<string, number>> = {};
for (const route of routes) {
  const url = `http://127.0.0.1:${port}${route}`;
  statuses[route] = {
    none: (await fetch(url)).status,
    wrong: (await fetch(url, { headers: { authorization: 'Bearer nope' } })).status,
    bearer: (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status,
    query: (await fetch(`${url}?token=${token}`)).status,
  };
}
result.statuses = statuses;
await server.close();
store.close();
process.stdout.write(JSON.stringify(result));
