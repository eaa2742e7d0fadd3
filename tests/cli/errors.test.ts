// Stable error codes, and the one place that turns them into exit codes.
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli/root.js';
import type { Command, CommandIo } from '../../src/cli/command.js';
import {
  ConfigInvalidError,
  DbCorruptError,
  DbLockedError,
  DbUnreadableError,
  exitCodeFor,
  ExportIncompleteError,
  PortInUseError,
  RasadError,
  SweepIncompleteError,
  TargetsInvalidError,
  UsageError,
} from '../../src/errors.js';

const coded = (code: string, message = 'something the user can fix') => Object.assign(new Error(message), { code });

describe('error classes', () => {
  it.each([
    [UsageError, 'RASAD_USAGE', 2],
    [ConfigInvalidError, 'RASAD_CONFIG_INVALID', 2],
    [TargetsInvalidError, 'RASAD_TARGETS_INVALID', 2],
    [DbCorruptError, 'RASAD_DB_CORRUPT', 2],
    [DbLockedError, 'RASAD_DB_LOCKED', 2],
    [DbUnreadableError, 'RASAD_DB_UNREADABLE', 2],
    [PortInUseError, 'RASAD_PORT_IN_USE', 2],
    [ExportIncompleteError, 'RASAD_EXPORT_INCOMPLETE', 1],
    [SweepIncompleteError, 'RASAD_SWEEP_INCOMPLETE', 3],
  ] as const)('%s has code %s and exit code %i', (Class, code, exit) => {
    const err = new Class('x');
    expect(err).toBeInstanceOf(RasadError);
    expect(err.code).toBe(code);
    expect(err.name).toBe(Class.name);
    expect(exitCodeFor(err)).toBe(exit);
  });

  it('keeps bad input a UsageError, so that code checking instanceof UsageError still works', () => {
    for (const err of [new ConfigInvalidError('x'), new TargetsInvalidError('x'), new PortInUseError('x')]) expect(err).toBeInstanceOf(UsageError);
  });
});

describe('exitCodeFor', () => {
  it('honours a plain Error with a RASAD_ code, by family', () => {
    expect(exitCodeFor(coded('RASAD_DB_LOCKED'))).toBe(2);
    expect(exitCodeFor(coded('RASAD_DB_SCHEMA_TOO_NEW'))).toBe(2);
    expect(exitCodeFor(coded('RASAD_CONFIG_INVALID'))).toBe(2);
    expect(exitCodeFor(coded('RASAD_TARGETS_INVALID'))).toBe(2);
    expect(exitCodeFor(coded('RASAD_SWEEP_INCOMPLETE'))).toBe(3);
    expect(exitCodeFor(coded('RASAD_SOMETHING_NEW'))).toBe(1);
  });

  it('knows the errors from before the codes by name, and nothing else', () => {
    for (const name of ['ConfigError', 'TargetsError', 'StoreOpenError', 'FingerprintsError']) {
      expect(exitCodeFor(Object.assign(new Error('x'), { name })), name).toBe(2);
    }
    expect(exitCodeFor(new TypeError('x is undefined'))).toBeNull();
    expect(exitCodeFor(coded('SQLITE_BUSY'))).toBeNull();
    expect(exitCodeFor('a string')).toBeNull();
  });
});

describe('main', () => {
  function capture() {
    let out = '';
    let err = '';
    const io = {
      stdout: { write: (s: string) => ((out += s), true) },
      stderr: { write: (s: string) => ((err += s), true) },
      env: {},
      cwd: '/',
    } as unknown as CommandIo;
    return { io, out: () => out, err: () => err };
  }

  async function runThrowing(error: unknown) {
    const thrower: Command = { name: 'throw-for-test', summary: '', usage: '', run: () => Promise.reject(error) };
    COMMANDS.push(thrower);
    try {
      const c = capture();
      return { code: await main(['throw-for-test'], c.io), stderr: c.err() };
    } finally {
      COMMANDS.splice(COMMANDS.indexOf(thrower), 1);
    }
  }

  it('prints one line for a coded error thrown by any module, with its exit code', async () => {
    expect(await runThrowing(coded('RASAD_DB_LOCKED', 'data/rasad.db: locked by another rasad\n(pid 42)'))).toEqual({ code: 2, stderr: 'data/rasad.db: locked by another rasad\n' });
    expect(await runThrowing(new SweepIncompleteError('rasad once: the sweep failed'))).toEqual({ code: 3, stderr: 'rasad once: the sweep failed\n' });
  });

  it('prints the stack of anything else, exit 1', async () => {
    const r = await runThrowing(new TypeError('boom'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rasad throw-for-test: internal error: TypeError: boom\n {4}at /);
  });
});
