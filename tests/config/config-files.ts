// Shared by the config tests: config files written to a fresh folder, and the
// ConfigError a load must throw.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';

/** A writer of numbered files `<prefix>-N.json` in a fresh folder (`.dir`): an object as pretty JSON, raw text as is. */
export function configFiles(prefix: string): ((content: unknown) => string) & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `rasad-config-${prefix}-`));
  let n = 0;
  const write = (content: unknown): string => {
    const path = join(dir, `${prefix}-${++n}.json`);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return path;
  };
  return Object.assign(write, { dir });
}

/** The ConfigError `run` throws; fails the test when it throws anything else or nothing. */
export function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
