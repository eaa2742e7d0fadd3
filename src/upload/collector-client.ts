// A client of an OONI collector (ooni/spec backends/bk-003-collector.md,
// "Collector API"): open a report (POST /report), submit measurements into it
// (POST /report/{report_id}) and close it (POST /report/{report_id}/close).
// JSON over HTTP(S), every call bounded by a timeout. A failure says whether
// trying again later can help (a network error, 429, 5xx) or not (another 4xx).
import { request } from 'undici';
import { retryAfterMs } from '../alerts/backoff.js';
import { BodyTooLargeError, readBodyText } from '../net/read-body.js';

/** A collector answers with a report id or a measurement uid: a few hundred bytes. Past this it is not a collector. */
export const MAX_COLLECTOR_ANSWER_BYTES = 1024 * 1024;

export interface ReportMetadata {
  software_name: string;
  software_version: string;
  probe_asn: string;
  probe_cc: string;
  test_name: string;
  test_version: string;
  data_format_version: string;
}

export class CollectorError extends Error {
  constructor(
    message: string,
    /** true when the same call may succeed later. */
    readonly retryable: boolean,
    /** The HTTP status, when the collector answered. */
    readonly status: number | null,
    /** The collector's Retry-After, in ms, when it gave one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'CollectorError';
  }
}

export class CollectorClient {
  private readonly base: string;

  constructor(
    url: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  /** Opens a report; returns the collector's report_id. */
  async openReport(meta: ReportMetadata): Promise<string> {
    const body = await this.post('/report', { ...meta, format: 'json' });
    const id = (body as { report_id?: unknown } | null)?.report_id;
    if (typeof id !== 'string' || id === '') throw new CollectorError('the collector opened a report without a report_id', true, null);
    return id;
  }

  /** Submits one measurement (its report_id already set to `reportId`). */
  async submit(reportId: string, measurement: unknown): Promise<void> {
    await this.post(`/report/${encodeURIComponent(reportId)}`, { format: 'json', content: measurement });
  }

  async closeReport(reportId: string): Promise<void> {
    await this.post(`/report/${encodeURIComponent(reportId)}/close`, {});
  }

  private async post(path: string, payload: unknown): Promise<unknown> {
    let res;
    try {
      res = await request(`${this.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new CollectorError(`collector unreachable: ${(err as Error).message ?? String(err)}`, true, null);
    }
    let text = '';
    try {
      text = await readBodyText(res.body, MAX_COLLECTOR_ANSWER_BYTES);
    } catch (err) {
      // Too large: not a collector's answer. Cut off mid-way: as before, judged by the status alone.
      if (err instanceof BodyTooLargeError) throw new CollectorError(`collector answered POST ${path.replace(/\/report\/[^/]+/, '/report/{id}')} with more than ${MAX_COLLECTOR_ANSWER_BYTES} bytes`, true, res.statusCode);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      const after = retryAfterMs(res.headers['retry-after'], Date.now());
      throw new CollectorError(`collector answered ${res.statusCode} to POST ${path.replace(/\/report\/[^/]+/, '/report/{id}')}`, retryable, res.statusCode, after);
    }
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CollectorError(`collector answered POST ${path.replace(/\/report\/[^/]+/, '/report/{id}')} with something that is not JSON`, true, res.statusCode);
    }
  }
}
