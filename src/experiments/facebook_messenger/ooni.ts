// Facebook Messenger in OONI's data format: the keys of OONI's
// facebook_messenger test (ts-019). Consistency needs the ASN data, which the
// export has (src/net/asn.ts), so the keys are computed again from the
// record, as the judge computes them.
import type { FacebookMessengerDetails, FacebookServiceResult } from '../../../probes/app_facebook_messenger.js';
import { lookupAsn } from '../../net/asn.js';
import { arr, ooniTcpConnect } from '../apps.js';
import { facebookKeysOf } from './judge.js';

/** OONI's facebook_messenger test version whose keys these are. */
export const FACEBOOK_MESSENGER_TEST_VERSION = '0.2.1';

export function facebookMessengerKeys(details: FacebookMessengerDetails | null): Record<string, unknown> {
  const services = arr<FacebookServiceResult>(details?.services);
  return {
    ...facebookKeysOf(details, (ip) => lookupAsn(ip)),
    tcp_connect: ooniTcpConnect(services.flatMap((s) => (s.connect ? [s.connect] : []))),
  };
}
