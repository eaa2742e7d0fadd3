// A local OONI collector for tests, written from ooni/spec
// backends/bk-003-collector.md: POST /report opens a report (answers
// report_id, backend_version, supported_formats), POST /report/{id} takes
// {format: "json", content} into an open report, POST /report/{id}/close
// closes it. Loopback only. It dedupes on the measurement's
// x_rasad_measurement_ids, as a collector that accepts at-least-once delivery must.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CollectedReport {
  meta: Record<string, unknown>;
  closed: boolean;
  measurements: Record<string, unknown>[];
}

export interface TestCollector {
  url: string;
  reports: Map<string, CollectedReport>;
  /** Every submission accepted, duplicates included. */
  submissions: Record<string, unknown>[];
  /** The distinct measurements accepted, by their first measurement id. */
  unique(): Map<string, Record<string, unknown>>;
  /** Answer this status to the next `count` requests (e.g. 503 for an outage), with a Retry-After header if given. */
  failNext(count: number, status: number, retryAfter?: string): void;
  /** Delay every submission's answer (to have one in flight when the client dies). */
  delayMs: number;
  close(): Promise<void>;
}

const REPORT_FIELDS = ['software_name', 'software_version', 'probe_asn', 'probe_cc', 'test_name', 'test_version', 'data_format_version', 'format'];

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function startCollector(): Promise<TestCollector> {
  const reports = new Map<string, CollectedReport>();
  const submissions: Record<string, unknown>[] = [];
  let failures: { count: number; status: number; retryAfter?: string } = { count: 0, status: 503 };
  const collector = { delayMs: 0 } as TestCollector;

  const server = createServer(async (req, res) => {
    const body = await readJson(req);
    if (failures.count > 0) {
      failures.count--;
      return json(res, failures.status, { error: 'unavailable' }, failures.retryAfter ? { 'retry-after': failures.retryAfter } : {});
    }
    if (req.method !== 'POST' || !body) return json(res, 400, { error: 'a POST with a JSON object is expected' });
    const path = (req.url ?? '').split('?')[0]!;
    if (path === '/report') {
      const missing = REPORT_FIELDS.filter((f) => typeof body[f] !== 'string' || body[f] === '');
      if (missing.length || body.format !== 'json') return json(res, 400, { error: `missing ${missing.join(', ')}` });
      const id = `${String(body.test_name).replace(/_/g, '')}_${String(body.probe_cc)}_${String(body.probe_asn).slice(2)}_n1_${randomBytes(8).toString('hex')}`;
      reports.set(id, { meta: body, closed: false, measurements: [] });
      return json(res, 200, { backend_version: 'test', report_id: id, supported_formats: ['json'] });
    }
    const close = /^\/report\/([^/]+)\/close$/.exec(path);
    if (close) {
      const report = reports.get(decodeURIComponent(close[1]!));
      if (!report) return json(res, 404, { error: 'no such report' });
      report.closed = true;
      return json(res, 200, {});
    }
    const submit = /^\/report\/([^/]+)$/.exec(path);
    if (submit) {
      const id = decodeURIComponent(submit[1]!);
      const report = reports.get(id);
      if (!report || report.closed) return json(res, 404, { error: 'no such open report' });
      const content = body.content as Record<string, unknown> | undefined;
      if (body.format !== 'json' || !content || typeof content !== 'object') return json(res, 400, { error: 'format json with a content object is expected' });
      if (content.report_id !== id || content.test_name !== report.meta.test_name) return json(res, 400, { error: 'content does not belong to this report' });
      report.measurements.push(content);
      submissions.push(content);
      if (collector.delayMs > 0) await new Promise((r) => setTimeout(r, collector.delayMs));
      return json(res, 200, { measurement_uid: randomBytes(8).toString('hex') });
    }
    return json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(collector, {
    url: `http://127.0.0.1:${port}`,
    reports,
    submissions,
    unique() {
      const out = new Map<string, Record<string, unknown>>();
      for (const s of submissions) out.set(String(((s.test_keys as Record<string, unknown>).x_rasad_measurement_ids as string[])[0]), s);
      return out;
    },
    failNext(count: number, status: number, retryAfter?: string) {
      failures = { count, status, retryAfter };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
