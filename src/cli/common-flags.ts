// Flags that several commands share, declared once so their help reads the same everywhere.
import type { StringFlag } from './command.js';

export const CONFIG_FLAG = { type: 'string', value: 'F', help: 'JSON config file (see README: Configuration)' } as const satisfies StringFlag;
export const TARGETS_FLAG = { type: 'string', value: 'F', help: 'targets file (default: ./targets.txt, else the bundled list)' } as const satisfies StringFlag;
export const DB_FLAG = { type: 'string', value: 'F', help: 'SQLite database (default: ./data/rasad.db)' } as const satisfies StringFlag;
