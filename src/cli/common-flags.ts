// Flags that several commands share, declared once so their help reads the same everywhere.
import type { BooleanFlag, StringFlag } from './command.js';

export const CONFIG_FLAG = { type: 'string', value: 'F', help: 'JSON config file (see README: Configuration)' } as const satisfies StringFlag;
export const TARGETS_FLAG = { type: 'string', value: 'F', help: 'targets file (default: ./targets.txt, else the bundled list)' } as const satisfies StringFlag;
export const NO_CONTROL_FLAG = {
  type: 'boolean',
  help: "measure without a control (by default OONI's public test helpers are asked about each URL)",
} as const satisfies BooleanFlag;
export const DB_FLAG = { type: 'string', value: 'F', help: 'SQLite database (default: ./data/rasad.db)' } as const satisfies StringFlag;
