import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/runtime.js';
import { UsageError } from '../../src/cli/command.js';

describe('--no-control', () => {
  it('turns the default control (OONI\'s public helpers) off', () => {
    expect(resolveConfig({}, {}).controls.length).toBeGreaterThan(0);
    expect(resolveConfig({ 'no-control': true }, {}).controls).toEqual([]);
  });

  it('cannot be given with --control', () => {
    expect(() => resolveConfig({ 'no-control': true, control: ['http://127.0.0.1:9/'] }, {})).toThrow(UsageError);
  });
});
