// `rasad helper`: flags, startup line, serving, and a clean stop.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError, type CommandIo } from '../../src/cli/command.js';
import { helperCommand, serveHelper } from '../../src/cli/commands/helper.js';
import type { ControlAnswer } from '../../src/model.js';
import { httpSite, pageHandler, post, until } from './sites.js';

function io(): CommandIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout, stderr, env: {}, cwd: process.cwd(), out: () => out, err: () => err };
}

describe('rasad helper', () => {
  it('is the command the CLI lists as "helper"', () => {
    expect(helperCommand.name).toBe('helper');
    expect(helperCommand.usage).toMatch(/--listen HOST:PORT/);
  });

  it('serves control requests until stopped, then exits 0', async () => {
    const site = await httpSite(pageHandler);
    const stop = new AbortController();
    const cli = io();
    const running = serveHelper(['--listen', '127.0.0.1:0', '--allow-private', '--max-concurrency', '2'], cli, stop.signal);
    await until(() => /listening on http:\/\/127\.0\.0\.1:\d+\//.test(cli.out()));
    const url = /listening on (\S+)/.exec(cli.out())![1]!;
    expect(cli.out()).toContain('private addresses allowed');
    const res = await post(url, { http_request: `http://127.0.0.1:${site.port}/`, tcp_connect: [`127.0.0.1:${site.port}`] });
    expect((res.json as ControlAnswer).tcp_connect[`127.0.0.1:${site.port}`]).toEqual({ status: true, failure: null });
    stop.abort();
    expect(await running).toBe(0);
    await expect(post(url, {})).rejects.toThrow(/ECONNREFUSED/);
    await site.close();
  });

  it('prints its usage for --help', async () => {
    const cli = io();
    expect(await serveHelper(['--help'], cli, AbortSignal.abort())).toBe(0);
    expect(cli.out()).toMatch(/^Usage: rasad helper/);
  });

  it('rejects bad flags with one-line usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['--listen', 'nope'], /--listen: expected HOST:PORT/],
      [['--listen', '127.0.0.1:99999'], /--listen: expected HOST:PORT/],
      [['--max-concurrency', '0'], /--max-concurrency: expected an integer from 1 to 1000, got "0"/],
      [['--max-concurrency', 'many'], /--max-concurrency/],
      [['--ca-file', '/nonexistent/ca.pem'], /--ca-file: cannot read \/nonexistent\/ca.pem: ENOENT/],
      [['--frobnicate'], /rasad helper: Unknown option '--frobnicate'/],
      [['extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, message] of cases) {
      const err = await serveHelper(argv, io(), AbortSignal.abort()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('reports a port it cannot listen on as a usage error', async () => {
    const site = await httpSite(pageHandler);
    const err = await serveHelper(['--listen', `127.0.0.1:${site.port}`], io(), AbortSignal.abort()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    await site.close();
  });
});
