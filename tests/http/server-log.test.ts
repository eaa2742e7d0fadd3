// The "listening" log line says how the dashboard is guarded without a field
// named token: the log redacts those, and "[redacted]" read as if a token were
// set when none was (issue 16 #16).
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/http/metrics.js';
import { startHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';

async function listeningLine(token?: string): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', pretty: false, destination: { write: (chunk: string) => lines.push(chunk) } });
  const store = Store.open(':memory:');
  const server = await startHttpServer({ store, config: { http: { enabled: true, bind: '127.0.0.1', port: 0, token, perTargetMetrics: false } }, metrics: new Metrics(), logger });
  await server.close();
  store.close();
  const line = lines.find((l) => l.includes('dashboard and /metrics listening'));
  expect(line).toBeDefined();
  expect(line).not.toContain('[redacted]');
  return JSON.parse(line!) as Record<string, unknown>;
}

describe('the listening log line', () => {
  it('without a token says the dashboard answers loopback names only, not "[redacted]"', async () => {
    const line = await listeningLine();
    expect(line.auth).toBe('none (loopback host names only)');
    expect(line).not.toHaveProperty('token');
  });

  it('with a token says one is required, and never logs it', async () => {
    const line = await listeningLine('tok-77ab');
    expect(line.auth).toBe('token required');
    expect(JSON.stringify(line)).not.toContain('tok-77ab');
  });
});
