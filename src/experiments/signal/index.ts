// Signal (OONI's signal): its service hosts over HTTPS, validated against
// Signal's own CA (probes/app_signal_ca.ts). Input: app://signal.
import type { AppFetch } from '../../../probes/app_steps.js';
import { signalProbe } from '../../../probes/app_signal.js';
import { appExperiment, arr } from '../apps.js';
import { judgeSignal } from './judge.js';
import { SIGNAL_TEST_VERSION, signalKeys } from './ooni.js';

export const signalExperiment = appExperiment({
  kind: 'signal',
  summary: "whether Signal's service hosts answer over HTTPS with a certificate from Signal's own CA",
  probe: signalProbe,
  reached: (d) => arr<AppFetch>(d.backends).some((b) => b.status_code !== null),
  judge: judgeSignal,
  ooni: { testVersion: SIGNAL_TEST_VERSION, keys: (d) => signalKeys(d) },
});
