// Asks the long-lived control endpoint of each helper in turn. A helper
// without the endpoint (OONI's answers 404) is no failure of the helper:
// it is recorded as `no_long_endpoint` and the next is tried; a busy one
// (503) likewise. An answer that is not the record asked for counts as
// that helper's failure, never as a control.
import { request as undiciRequest, type Dispatcher } from 'undici';
import { classifyError } from '../../../probes/failure.js';
import { startPhase } from '../../../probes/net.js';
import { requestDeadlineMs } from './handler.js';
import { LONG_CONTROL_PATH, LONG_CONTROL_VERSION, type LongAnswer, type LongRequest } from './request.js';

export interface LongQueryFailure {
  helper: string;
  /** `no_long_endpoint` (404), `busy` (503), `http_<status>`, `malformed_answer: ...`, or an OONI failure string. */
  failure: string;
}

export interface LongQueryResult {
  answer: LongAnswer | null;
  /** The helper that answered, or null. */
  helper: string | null;
  failures: LongQueryFailure[];
}

export interface LongQueryOptions {
  /** Per-phase timeout the helper uses (for the request's deadline). Default 10 s. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** A records's answers are small, but a download's samples make it grow: 4 MiB at most. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The endpoint under a helper's base URL: "http://h:8080/" → "http://h:8080/rasad/v1/long". */
export function longEndpointUrl(helperUrl: string): string {
  const base = helperUrl.endsWith('/') ? helperUrl : `${helperUrl}/`;
  return new URL(LONG_CONTROL_PATH.slice(1), base).href;
}

/** Checks the shape of an answer: the version, the kind asked for, a probe record of that kind. */
export function parseLongAnswer(value: unknown, kind: LongRequest['kind']): LongAnswer {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null) throw new Error('not a JSON object');
  if (v.version !== LONG_CONTROL_VERSION) throw new Error(`version ${String(v.version).slice(0, 20)}, expected ${LONG_CONTROL_VERSION}`);
  if (v.kind !== kind) throw new Error(`kind ${String(v.kind).slice(0, 40)}, expected ${kind}`);
  const r = v.result as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || r.probe !== kind) throw new Error('result is not a record of that probe');
  if (typeof r.details !== 'object' || r.details === null) throw new Error('result.details is missing');
  if (r.failure !== null && typeof r.failure !== 'string') throw new Error('result.failure is not a failure string');
  return v as unknown as LongAnswer;
}

async function askOne(helper: string, req: LongRequest, signal: AbortSignal, opts: LongQueryOptions): Promise<LongAnswer | string> {
  // A phase, not AbortSignal.any: on Node 20 each AbortSignal.any leaves an entry on its source for good,
  // and the source here is the daemon's signal that lives for months.
  const phase = startPhase(signal, requestDeadlineMs(req, opts.timeoutMs ?? 10_000) + 10_000, 'long control');
  try {
    return await askOneWithin(helper, req, phase.signal, opts);
  } finally {
    phase.dispose();
  }
}

async function askOneWithin(helper: string, req: LongRequest, deadline: AbortSignal, opts: LongQueryOptions): Promise<LongAnswer | string> {
  let res: Dispatcher.ResponseData;
  try {
    res = await undiciRequest(longEndpointUrl(helper), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req),
      signal: deadline,
      // A session is held for minutes before the answer's head is sent.
      headersTimeout: 0,
      bodyTimeout: 0,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
  } catch (err) {
    return classifyError(err);
  }
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => undefined);
    if (res.statusCode === 404) return 'no_long_endpoint';
    if (res.statusCode === 503) return 'busy';
    return `http_${res.statusCode}`;
  }
  try {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_ANSWER_BYTES) throw new Error('answer too large');
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) throw new Error('answer too large');
      chunks.push(chunk as Buffer);
    }
    return parseLongAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8')), req.kind);
  } catch (err) {
    res.body.destroy();
    return `malformed_answer: ${String((err as Error).message ?? err).slice(0, 200)}`;
  }
}

/** Tries each helper in order until one answers; the others' failures say why they did not. */
export async function queryLongControl(helperUrls: string[], request: LongRequest, signal: AbortSignal, opts: LongQueryOptions = {}): Promise<LongQueryResult> {
  const failures: LongQueryFailure[] = [];
  for (const helper of helperUrls) {
    if (signal.aborted) break;
    const outcome = await askOne(helper, request, signal, opts);
    if (typeof outcome !== 'string') return { answer: outcome, helper, failures };
    failures.push({ helper, failure: outcome });
  }
  return { answer: null, helper: null, failures };
}

/** True when no helper asked has a long-lived endpoint: the judge falls back to agreement across targets. */
export function noLongControl(result: LongQueryResult): boolean {
  return result.answer === null && result.failures.every((f) => f.failure === 'no_long_endpoint');
}
