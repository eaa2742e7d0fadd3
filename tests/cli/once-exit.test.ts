// `rasad once` exits 0 only for a sweep that completed: a partial or failed
// sweep is exit 3, one stopped by a signal 130 (documented in the README).
import { describe, expect, it } from 'vitest';
import { onceExitCode } from '../../src/cli/commands/once.js';

describe('onceExitCode', () => {
  it.each([
    ['complete', 0],
    ['partial', 3],
    ['failed', 3],
    ['interrupted', 130],
  ])('%s → %i', (status, code) => {
    expect(onceExitCode(status)).toBe(code);
  });
});
