// The wireguard experiment in OONI's data format: OONI has no such test, so
// it is `rasad_wireguard`, its test_keys the probe's details (which never
// hold the clientkey) and rasad's verdict fields, the target scrubbed too.
import { withoutSecrets } from '../../../probes/wireguard.js';
import { rasadTestKeys } from '../long-lived-ooni.js';
import type { OoniMapping } from '../types.js';

export const wireguardOoniMapping: OoniMapping = {
  testName: () => 'rasad_wireguard',
  testVersion: () => '0.1.0',
  extensions: {},
  keys(measurements) {
    const keys = rasadTestKeys(measurements[measurements.length - 1]!);
    const target = keys.testKeys.x_rasad_target;
    if (typeof target === 'string') keys.testKeys.x_rasad_target = withoutSecrets(target);
    return keys;
  },
};
