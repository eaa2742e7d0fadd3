// OONI's `blocking` and `accessible` for a rasad verdict (ts-017).
import type { Verdict } from '../../model.js';

export type Blocking = false | 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff' | null;

/**
 * OONI's `blocking` and `accessible` (ts-017 "Notable blocking and accessible
 * combinations") for a rasad verdict. Verdicts web_connectivity has no word
 * for (a session cut, throttling, an offline or captive network, inconclusive) are null/null;
 * x_rasad_verdict says what they are.
 */
export function blockingOf(verdict: string): { blocking: Blocking; accessible: boolean | null } {
  switch (verdict as Verdict) {
    case 'ok':
      return { blocking: false, accessible: true };
    case 'down':
    case 'site.geoblocked':
      // The site refuses this country itself: not the state's blocking, but not accessible either.
      return { blocking: false, accessible: false };
    case 'dns.nxdomain':
    case 'dns.injected':
    case 'dns.timeout':
      return { blocking: 'dns', accessible: false };
    case 'tcp.blocked':
      return { blocking: 'tcp_ip', accessible: false };
    case 'tls.reset':
    case 'http.reset':
      // ts-017: "http-failure" covers TLS interference too, for historical reasons.
      return { blocking: 'http-failure', accessible: false };
    case 'http.blockpage':
    case 'http.diff':
      return { blocking: 'http-diff', accessible: false };
    default:
      return { blocking: null, accessible: null };
  }
}
