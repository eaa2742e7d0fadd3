// Logging: secrets never reach the captured output (by field path, and
// inside URLs anywhere in a line), no host name or pid, one child per layer,
// and the shape of the human-readable mode.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatPrettyLine, layerLogger, scrubSecrets } from '../src/log.js';

/** A real stream that keeps what it is given. */
function capture(isTTY = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter((l) => l !== '') };
}

const SECRETS = ['tok-AAA', 'sec-BBB', 'hook-CCC', 'auth-DDD', 'pw-EEE', 'qs-FFF', 'bearer-GGG', 'nested-HHH', 'cookie-III', 'err-JJJ'];

describe('createLogger: JSON lines', () => {
  it('redacts known secret fields and scrubs secrets inside URLs', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    const alerts = layerLogger(logger, 'alerts');
    alerts.info(
      {
        token: 'tok-AAA',
        webhook: { url: 'https://127.0.0.1/hook-CCC', secret: 'sec-BBB' },
        webhooks: [{ url: 'https://127.0.0.1/hook-CCC' }],
        headers: { authorization: 'Basic auth-DDD', cookie: 'cookie-III' },
        detail: { target: 'https://alice:pw-EEE@127.0.0.1/x?token=qs-FFF&page=2' },
        deep: { deeper: { note: 'sent Authorization: Bearer bearer-GGG' } },
        config: { http: { token: 'nested-HHH' } },
      },
      'posted to https://alice:pw-EEE@127.0.0.1/?api_key=qs-FFF',
    );
    logger.child({ layer: 'http' }).error(new Error('fetch https://bob:err-JJJ@127.0.0.1/ failed'));
    const text = out.text();
    for (const secret of SECRETS) expect(text).not.toContain(secret);

    const [first, second] = out.lines().map((l) => JSON.parse(l));
    expect(first).toMatchObject({
      level: 'info',
      layer: 'alerts',
      token: '[redacted]',
      webhook: { url: '[redacted]', secret: '[redacted]' },
      webhooks: [{ url: '[redacted]' }],
      headers: { authorization: '[redacted]', cookie: '[redacted]' },
      detail: { target: 'https://[redacted]@127.0.0.1/x?token=[redacted]&page=2' },
      deep: { deeper: { note: 'sent Authorization: Bearer [redacted]' } },
      config: { http: { token: '[redacted]' } },
      msg: 'posted to https://[redacted]@127.0.0.1/?api_key=[redacted]',
    });
    expect(second).toMatchObject({ level: 'error', layer: 'http', msg: 'fetch https://[redacted]@127.0.0.1/ failed', err: { type: 'Error' } });
    expect(second.err.stack).not.toContain('err-JJJ');
  });

  it('writes no host name or pid, an ISO time, and respects the level', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    logger.debug('not shown');
    layerLogger(logger, 'store').warn({ runs: 2 }, 'interrupted runs');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(Object.keys(record).sort()).toEqual(['layer', 'level', 'msg', 'runs', 'time']);
    expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("'auto' writes JSON to a stream that is not a terminal, and text to one that is", () => {
    const pipe = capture(false);
    createLogger({ level: 'info', pretty: 'auto', destination: pipe.stream }).info('hello');
    expect(JSON.parse(pipe.lines()[0]!)).toMatchObject({ msg: 'hello' });
    const tty = capture(true);
    createLogger({ level: 'info', pretty: 'auto', destination: tty.stream }).info('hello');
    expect(tty.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  hello\n$/);
  });
});

describe('createLogger: secret fields that hold nothing', () => {
  it('says [redacted] only when there is a value to hide', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    logger.info({ token: null, http: { token: '' }, config: { http: { token: null }, webhooks: [{ url: null, secret: 'sec-BBB' }] } }, 'settings');
    const record = JSON.parse(out.lines()[0]!);
    expect(record.token).toBeNull();
    expect(record.http.token).toBe('');
    expect(record.config.http.token).toBeNull();
    expect(record.config.webhooks[0]).toEqual({ url: null, secret: '[redacted]' });
    expect(out.text()).not.toContain('sec-BBB');
  });

  it('in the human-readable mode too', () => {
    const out = capture();
    createLogger({ level: 'info', pretty: true, destination: out.stream }).info({ token: null }, 'dashboard');
    expect(out.text()).toMatch(/ dashboard token=null\n$/);
    expect(out.text()).not.toContain('[redacted]');
  });
});

describe('createLogger: human-readable mode', () => {
  it('prints time, level, layer, message and key=value pairs, secrets scrubbed', () => {
    const out = capture();
    const logger = createLogger({ level: 'debug', pretty: true, destination: out.stream });
    layerLogger(logger, 'scheduler').warn({ runs: 2, note: 'two words', ok: true, url: 'https://u:pw-EEE@127.0.0.1/', list: [1, 2] }, 'runs interrupted');
    layerLogger(logger, 'probe').debug({ token: 'tok-AAA' }, 'probing');
    expect(out.lines()).toHaveLength(2);
    expect(out.lines()[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN  \[scheduler\] runs interrupted runs=2 note="two words" ok=true url=https:\/\/\[redacted\]@127\.0\.0\.1\/ list=\[1,2\]$/,
    );
    expect(out.lines()[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG \[probe\] probing token=\[redacted\]$/);
    expect(out.text()).not.toContain('pw-EEE');
    expect(out.text()).not.toContain('tok-AAA');
  });

  it('prints an error message inline and its stack frames indented below', () => {
    const out = capture();
    createLogger({ level: 'info', pretty: true, destination: out.stream }).child({ layer: 'cli' }).error({ err: new Error('disk full') }, 'cannot store');
    const [head, ...frames] = out.text().trimEnd().split('\n');
    expect(head).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR \[cli\] cannot store err="disk full"$/);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(frame).toMatch(/^ {4}at /);
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatPrettyLine('plain text')).toBe('plain text\n');
    expect(formatPrettyLine('[1,2]')).toBe('[1,2]\n');
  });
});

describe('scrubSecrets', () => {
  it.each([
    ['https://user:pass@host.test/p', 'https://[redacted]@host.test/p'],
    ['see ftp://anon@host.test and http://h.test/a@b', 'see ftp://[redacted]@host.test and http://h.test/a@b'],
    ['/cb?access_token=abc&x=1&Signature=zz#f', '/cb?access_token=[redacted]&x=1&Signature=[redacted]#f'],
    ['GET /?q=token=notaparam', 'GET /?q=token=notaparam'],
    ['Authorization: Bearer eyJ.abc-def_ghi', 'Authorization: Bearer [redacted]'],
    ['nothing to hide: http://127.0.0.1:8080/status?page=2', 'nothing to hide: http://127.0.0.1:8080/status?page=2'],
  ])('%s', (input, output) => {
    expect(scrubSecrets(input)).toBe(output);
  });

  it('keeps a JSON line valid', () => {
    const line = JSON.stringify({ msg: 'x "https://a:b@h.test/?token=\\"q\\"" y', n: 1 });
    const scrubbed = scrubSecrets(line);
    expect(scrubbed).not.toBe(line);
    expect(() => JSON.parse(scrubbed)).not.toThrow();
    expect(JSON.parse(scrubbed).n).toBe(1);
  });
});
