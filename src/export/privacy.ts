// The export's privacy scrub lives in src/privacy.ts since the store applies
// it too (issue 9: scrubbed at storage); the export still scrubs rows stored
// before migration 3 with it.
export { PROBE_ADDRESS_KEYS, SCRUBBED, containsIp, scrubErrorStrings, scrubIps, scrubbedCopy, type ScrubWalk } from '../privacy.js';
