// Signal in OONI's data format: the keys of OONI's signal test (ts-029).
import type { SignalDetails } from '../../../probes/app_signal.js';
import { signalStatus } from './judge.js';

/** OONI's signal test version whose keys these are. */
export const SIGNAL_TEST_VERSION = '0.2.5';

export function signalKeys(details: SignalDetails | null): Record<string, unknown> {
  return { ...signalStatus(details) };
}
