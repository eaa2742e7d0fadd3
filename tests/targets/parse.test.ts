// The targets parser: every good form with its normalised inputs, every kind
// of bad line with its exact FILE:LINE message, and loadTargets' one-line error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { expandTarget, loadTargets, parseTargets, TargetsError } from '../../src/targets/parse.js';

const dir = mkdtempSync(join(tmpdir(), 'rasad-targets-'));

function only(line: string) {
  const { targets, errors } = parseTargets(line, 't.txt');
  expect(errors).toEqual([]);
  expect(targets).toHaveLength(1);
  return targets[0]!;
}

describe('parseTargets: good lines', () => {
  it.each([
    ['facebook.com', ['http://facebook.com/', 'https://facebook.com/']],
    ['WWW.Aparat.COM', ['http://www.aparat.com/', 'https://www.aparat.com/']],
    ['www.bbc.com/persian', ['http://www.bbc.com/persian', 'https://www.bbc.com/persian']],
    ['www.dw.com/fa-ir?x=1', ['http://www.dw.com/fa-ir?x=1', 'https://www.dw.com/fa-ir?x=1']],
    ['bücher.de', ['http://xn--bcher-kva.de/', 'https://xn--bcher-kva.de/']],
    ['192.0.2.7', ['http://192.0.2.7/', 'https://192.0.2.7/']],
    ['https://www.youtube.com', ['https://www.youtube.com/']],
    ['HTTPS://WWW.YouTube.com/Watch?v=A', ['https://www.youtube.com/Watch?v=A']],
    ['http://www.bbc.com/persian/', ['http://www.bbc.com/persian/']],
    ['http://x.com:80/', ['http://x.com/']],
    ['https://x.com:443/a', ['https://x.com/a']],
    ['http://x.com:8080', ['http://x.com:8080/']],
    ['https://x.com/page#section', ['https://x.com/page']],
    ['http://127.0.0.1:8080/status', ['http://127.0.0.1:8080/status']],
    ['http://[2001:DB8::1]:8443/', ['http://[2001:db8::1]:8443/']],
    ['http://localhost:9000/', ['http://localhost:9000/']],
    ['tcp://192.0.2.1:443', ['tcp://192.0.2.1:443']],
    ['tcp://192.0.2.1:443/', ['tcp://192.0.2.1:443']],
    ['tcp://[2001:DB8:0:0::1]:443', ['tcp://[2001:db8::1]:443']],
    ['TCP://Relay.Torproject.ORG:9001', ['tcp://relay.torproject.org:9001']],
    ['tcp://localhost:22', ['tcp://localhost:22']],
    // A trailing dot (a fully qualified name, as some Citizen Lab rows have it) names the same host.
    ['http://www.kproxy.com.', ['http://www.kproxy.com/']],
    ['https://x.com.:8443/a', ['https://x.com:8443/a']],
    ['kproxy.com.', ['http://kproxy.com/', 'https://kproxy.com/']],
    ['tcp://relay.example.org.:443', ['tcp://relay.example.org:443']],
    // A hashbang fragment is a route of the page, and stays; another fragment is dropped.
    ['http://twitter.com/#!/name', ['http://twitter.com/#!/name']],
    ['HTTP://Twitter.COM:80/#!/Name?x', ['http://twitter.com/#!/Name?x']],
  ])('%s expands to %j', (written, inputs) => {
    const target = only(written);
    expect(target.inputs).toEqual(inputs);
    expect(target.raw).toBe(written);
    expect(target.category).toBe('MISC');
    expect(target.tags).toEqual([]);
  });

  it('reads the category, the tags, the file and the line', () => {
    const text = [
      '# the default list',
      '',
      'https://www.youtube.com/       MMED',
      'www.aparat.com\tMMED\tdomestic clone   # tabs separate fields too',
      'psiphon.ca ANON circumvention circumvention',
      'telegram.org domestic-ish',
      '   ',
      'https://x.com/#not-a-comment GRP # but this is',
    ].join('\n');
    const { targets, errors } = parseTargets(text, 'list.txt');
    expect(errors).toEqual([]);
    expect(targets.map((t) => [t.line, t.raw, t.category, t.tags, t.file])).toEqual([
      [3, 'https://www.youtube.com/', 'MMED', [], 'list.txt'],
      [4, 'www.aparat.com', 'MMED', ['domestic', 'clone'], 'list.txt'],
      [5, 'psiphon.ca', 'ANON', ['circumvention'], 'list.txt'],
      [6, 'telegram.org', 'MISC', ['domestic-ish'], 'list.txt'],
      [8, 'https://x.com/#not-a-comment', 'GRP', [], 'list.txt'],
    ]);
    expect(targets[4]!.inputs).toEqual(['https://x.com/']);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    const { targets, errors } = parseTargets('\uFEFFfacebook.com GRP\r\ntwitter.com GRP\r\n', 'win.txt');
    expect(errors).toEqual([]);
    expect(targets.map((t) => [t.line, t.raw, t.category])).toEqual([
      [1, 'facebook.com', 'GRP'],
      [2, 'twitter.com', 'GRP'],
    ]);
  });

  it('gives each input back unchanged when it is parsed again', () => {
    for (const written of ['HTTP://A.Radiofarda.COM:80/x?y#z', 'tcp://[::FFFF:1.2.3.4]:5', 'bücher.de/ä', 'http://x.com./#!/a', 'kproxy.com.']) {
      const first = expandTarget(written);
      expect('inputs' in first).toBe(true);
      for (const input of (first as { inputs: string[] }).inputs) expect(expandTarget(input)).toEqual({ inputs: [input] });
    }
  });
});

describe('parseTargets: bad lines', () => {
  // One bad line each, at a known line number, with the exact message.
  const cases: [string, string][] = [
    ['ftp://files.bbc.co.uk/', 'unknown scheme "ftp" (expected http://, https://, tcp:// or a bare domain)'],
    ['mailto:someone@bbc.co.uk', 'unknown scheme "mailto" (expected http://, https://, tcp:// or a bare domain)'],
    ['http://exa mple.com/', 'unexpected field "mple.com/" (tags are lower-case words of letters, digits, - and _)'],
    ['http://x.com:0/', 'bad port "0" (expected 1 to 65535)'],
    ['http://x.com:65536/', 'bad port "65536" (expected 1 to 65535)'],
    ['https://x.com:https/', 'bad port "https" (expected 1 to 65535)'],
    ['http://x.com:/', 'bad port "" (expected 1 to 65535)'],
    ['tcp://192.0.2.1', 'a tcp:// target needs a port (tcp://host:port)'],
    ['tcp://192.0.2.1:70000', 'bad port "70000" (expected 1 to 65535)'],
    ['tcp://2001:db8::1:443', 'IPv6 addresses go in brackets: tcp://[2001:db8::1]:443'],
    ['tcp://[2001:db8::zz]:443', 'bad IPv6 address "[2001:db8::zz]"'],
    ['tcp://192.0.2.300:443', 'bad IPv4 address "192.0.2.300"'],
    ['tcp://x.com:443/path', 'a tcp:// target is only host:port (no path or query)'],
    ['tcp://user@x.com:443', 'tcp:// targets take no credentials'],
    ['http://a..b.com/', 'bad domain "a..b.com" (empty label)'],
    ['http://-bad.com/', 'bad domain "-bad.com" (a label starts or ends with a hyphen)'],
    ['http://under_score.com/', 'bad domain "under_score.com" (label "under_score" has characters other than letters, digits and hyphens)'],
    [`http://${'a'.repeat(64)}.com/`, `bad domain "${'a'.repeat(64)}.com" (a label is longer than 63 characters)`],
    [`http://${Array(64).fill('abc').join('.')}.com/`, `bad domain ${JSON.stringify(Array(64).fill('abc').join('.').slice(0, 80) + '…')} (longer than 253 characters)`],
    ['http://x.com../', 'bad domain "x.com.." (empty label)'],
    ['tcp://x.com..:443', 'bad domain "x.com.." (empty label)'],
    ['http://xn--zz.com/', 'bad URL "http://xn--zz.com/"'],
    ['http://1.2.3.999/', 'bad URL "http://1.2.3.999/"'],
    ['https://user:secret@x.com/', 'URLs with credentials (user:password@) are not allowed'],
    ['alice@x.com', 'targets with credentials (user:password@) are not allowed'],
    ['x.com:8080', 'a bare domain takes no port: write http://host:port/ or tcp://host:port'],
    ['facebook', 'bare domain "facebook" has no dot (write the full name, such as facebook.com, or a URL)'],
    ['http:///path', 'the URL has no host'],
    ['/just/a/path', 'bad target "/just/a/path" (expected a URL, a domain or tcp://host:port)'],
    ['x.com NWS', 'unknown category code "NWS" (Citizen Lab codes such as NEWS, GRP, MMED, ANON, COMT; see src/targets/categories.ts)'],
    ['x.com grp', 'category codes are upper case: write GRP, not "grp"'],
    ['x.com domestic GRP', 'the category GRP must come right after the target'],
    ['x.com GRP Domestic', 'unexpected field "Domestic" (tags are lower-case words of letters, digits, - and _)'],
    ['x.com GRP tag!', 'unexpected field "tag!" (tags are lower-case words of letters, digits, - and _)'],
    ['x.com GRP a b c d e f g h i', 'too many fields (a target, a category and at most 8 tags)'],
    ['x.com GRP \u0001', 'control character in the line'],
    [`http://x.com/${'p'.repeat(2100)}`, 'target longer than 2048 characters'],
    ['www.youtube.com', 'duplicate input "http://www.youtube.com/" (already on line 1)'],
    ['https://WWW.YOUTUBE.COM:443/', 'duplicate input "https://www.youtube.com/" (already on line 1)'],
  ];

  it('reports each with FILE:LINE and the reason, and keeps the good lines', () => {
    const text = ['www.youtube.com MMED', ...cases.map(([line]) => line), 'www.aparat.com MMED domestic'].join('\n');
    const { targets, errors } = parseTargets(text, 'bad.txt');
    expect(errors.map((e) => e.message)).toEqual(cases.map(([, reason], i) => `bad.txt:${i + 2}: ${reason}`));
    expect(errors.map((e) => [e.file, e.line, e.reason])).toEqual(cases.map(([, reason], i) => ['bad.txt', i + 2, reason]));
    expect(targets.map((t) => t.raw)).toEqual(['www.youtube.com', 'www.aparat.com']);
    expect(targets[1]!.line).toBe(cases.length + 2);
  });

  it('never echoes credentials in a message', () => {
    const { errors } = parseTargets('https://alice:hunter2@x.com/\ntcp://alice:hunter2@x.com:1\nalice:hunter2@x.com', 'c.txt');
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e.message).not.toContain('hunter2');
  });
});

describe('loadTargets', () => {
  it('loads a good file', () => {
    const path = join(dir, 'good.txt');
    writeFileSync(path, '# comment\nfacebook.com GRP\ntcp://192.0.2.1:443 ANON circumvention\n');
    const targets = loadTargets(path);
    expect(targets.map((t) => [t.file, t.line, t.inputs])).toEqual([
      [path, 2, ['http://facebook.com/', 'https://facebook.com/']],
      [path, 3, ['tcp://192.0.2.1:443']],
    ]);
  });

  it('throws a TargetsError naming the first bad line and counting the others', () => {
    const path = join(dir, 'bad.txt');
    writeFileSync(path, 'facebook.com GRP\nftp://x.com/\nx.com NOPE\nx.com:1\n');
    let caught: unknown;
    try {
      loadTargets(path);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TargetsError);
    expect(caught).toBeInstanceOf(UsageError);
    const e = caught as TargetsError;
    expect(e.name).toBe('TargetsError');
    expect(e.message).toBe(`${path}:2: unknown scheme "ftp" (expected http://, https://, tcp:// or a bare domain) (and 2 more bad lines)`);
    expect(e.line).toBe(2);
    expect(e.errors.map((x) => x.line)).toEqual([2, 3, 4]);
  });

  it('says "1 more bad line" in the singular, and nothing when there is one', () => {
    const two = join(dir, 'two.txt');
    writeFileSync(two, 'ftp://a.com/\nftp://b.com/\n');
    expect(() => loadTargets(two)).toThrow(/:1: .* \(and 1 more bad line\)$/);
    const one = join(dir, 'one.txt');
    writeFileSync(one, 'x.com\nftp://b.com/\n');
    expect(() => loadTargets(one)).toThrow(new RegExp(`^${one.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: unknown scheme "ftp" \\(expected http://, https://, tcp:// or a bare domain\\)$`));
  });

  it('refuses a missing file and a file with no targets', () => {
    const missing = join(dir, 'missing.txt');
    expect(() => loadTargets(missing)).toThrow(`${missing}: cannot read the targets file (ENOENT)`);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing here\n\n   \n');
    expect(() => loadTargets(empty)).toThrow(`${empty}: no targets (every line is blank or a comment)`);
  });
});

describe('the throughput= tag', () => {
  it('names the bulk resource of a target, and must be a URL', () => {
    const { targets, errors } = parseTargets('https://video.example.com/ MMED throughput=https://cdn.video.example.com/big.bin\n', 't.txt');
    expect(errors).toEqual([]);
    expect(targets[0]!.tags).toEqual(['throughput=https://cdn.video.example.com/big.bin']);
    const bad = parseTargets('video.example.com MMED throughput=ftp://x/\n', 't.txt');
    expect(bad.errors[0]!.message).toMatch(/t\.txt:1: .*throughput= must be followed by an http/);
  });
});
