// Asking the long-lived control (rasad helper `/rasad/v1/long`) about a unit:
// the same TLS session held from outside, the same download, the same
// junk-first flow. A helper without the endpoint (OONI's) is no failure: the
// view says so and the judges fall back to agreement across targets.
import type { AttemptResults, LongControlView } from '../analysis/observation.js';
import type { LongQueryResult } from '../control/long/client.js';
import type { LongRequest } from '../control/long/request.js';
import type { Experiment } from '../experiments/types.js';
import type { Config } from '../config/schema.js';
import type { Target } from '../../probes/types.js';

export interface LongControlQuery {
  (helperUrls: string[], request: LongRequest, signal: AbortSignal, opts?: { timeoutMs?: number }): Promise<LongQueryResult>;
}

/**
 * The helpers worth asking: OONI's public test helpers have no long-lived endpoint, so they are not sent
 * the long-lived requests (each would only disclose a URL or an endpoint to answer 404).
 */
export function longControlHelpers(controls: readonly string[]): string[] {
  return controls.filter((url) => {
    try {
      return !/(^|\.)th\.ooni\.org$/i.test(new URL(url).hostname);
    } catch {
      return false;
    }
  });
}

/** Starts the query the experiment wants at this moment (with or after the probe), or returns null. */
export function askLongControl(
  query: LongControlQuery | undefined,
  config: Config,
  experiment: Experiment<unknown> | undefined,
  when: 'with_probe' | 'after_probe',
  target: Target,
  url: string,
  attempt: AttemptResults | null,
  signal: AbortSignal,
): Promise<LongControlView> | null {
  const spec = experiment?.longControl;
  const helpers = longControlHelpers(config.controls);
  if (!query || !spec || spec.when !== when || helpers.length === 0) return null;
  let request: LongRequest | null;
  try {
    request = spec.request(target, url, config, attempt);
  } catch {
    request = null;
  }
  if (!request) return null;
  return query(helpers, request, signal, { timeoutMs: config.probe.timeoutMs }).then(
    (res): LongControlView => ({
      result: res.answer?.result ?? null,
      helper: res.helper,
      noEndpoint: res.answer === null && res.failures.length > 0 && res.failures.every((f) => f.failure === 'no_long_endpoint'),
      failures: res.failures,
    }),
    (err: unknown): LongControlView => ({ result: null, helper: null, noEndpoint: false, failures: [{ helper: '', failure: String((err as Error)?.message ?? err) }] }),
  );
}
