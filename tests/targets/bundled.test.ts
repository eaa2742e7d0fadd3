// The bundled targets.txt: it loads, it names the services the seed
// documents name, domestic and circumvention targets are tagged as the
// scheduler and the analysis expect, and nothing in it is a test address.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTargets } from '../../src/targets/parse.js';

const path = fileURLToPath(new URL('../../targets.txt', import.meta.url));
const targets = loadTargets(path);
const byRaw = new Map(targets.map((t) => [t.raw, t]));
const hosts = new Set(targets.flatMap((t) => t.inputs.map((i) => new URL(i.replace(/^tcp:/, 'http:')).hostname)));

describe('targets.txt', () => {
  it('loads without errors, in 40 to 110 lines with a header comment', () => {
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(40);
    expect(lines.length).toBeLessThanOrEqual(110);
    expect(lines[0]).toMatch(/^# /);
    expect(text).toMatch(/Small Media/);
    expect(targets.length).toBeGreaterThanOrEqual(35);
  });

  it('names the foreign originals and their Iranian clones (Small Media, July 2014)', () => {
    const pairs: [string, string][] = [
      ['www.facebook.com', 'www.cloob.com'],
      ['www.facebook.com', 'facenama.com'],
      ['www.youtube.com', 'www.aparat.com'],
      ['www.instagram.com', 'lenzor.com'],
      ['www.google.com', 'parsijoo.ir'],
      ['play.google.com', 'cafebazaar.ir'],
      ['apps.apple.com', 'sibche.com'],
      ['itunes.apple.com', 'beeptunes.com'],
      ['www.google-analytics.com', 'webgozar.com'],
    ];
    for (const [foreign, clone] of pairs) {
      expect(byRaw.get(foreign)?.tags ?? ['missing'], foreign).not.toContain('domestic');
      expect(byRaw.get(clone)?.tags, clone).toEqual(expect.arrayContaining(['domestic', 'clone']));
    }
    expect(hosts).toContain('www.wechat.com');
  });

  it('names the banned social networks and messengers, and the Persian-language broadcasters', () => {
    for (const host of ['twitter.com', 'x.com', 'telegram.org', 'web.telegram.org', 'www.whatsapp.com', 'www.viber.com', 'manototv.com', 'www.radiozamaneh.com']) {
      expect(hosts, host).toContain(host);
    }
    expect(byRaw.get('www.bbc.com/persian')?.inputs).toEqual(['http://www.bbc.com/persian', 'https://www.bbc.com/persian']);
    expect(byRaw.get('www.dw.com/fa-ir')?.category).toBe('NEWS');
  });

  it('has at least six domestic canaries, including the large Iranian sites', () => {
    const domestic = targets.filter((t) => t.tags.includes('domestic')).map((t) => t.raw);
    expect(domestic.length).toBeGreaterThanOrEqual(6);
    expect(domestic).toEqual(expect.arrayContaining(['www.aparat.com', 'www.digikala.com', 'www.irna.ir', 'www.varzesh3.com', 'cafebazaar.ir', 'divar.ir']));
    for (const raw of domestic) expect(byRaw.get(raw)!.tags, raw).not.toContain('circumvention');
  });

  it('tags every circumvention tool, and only those, as circumvention (ANON)', () => {
    const tools = targets.filter((t) => t.tags.includes('circumvention'));
    expect(tools.map((t) => t.raw)).toEqual(expect.arrayContaining(['www.torproject.org', 'psiphon.ca', 'browsec.com', 'www.hotspotshield.com']));
    for (const t of targets) expect(t.tags.includes('circumvention'), t.raw).toBe(t.category === 'ANON');
  });

  it('holds no loopback name or documentation domain, and IP literals only in circumvention endpoints', () => {
    for (const t of targets) {
      if (t.inputs.every((i) => /^tor(\+dir)?:\/\//.test(i))) continue; // Tor's directory authorities are addresses
      for (const i of t.inputs) expect(isIP(new URL(i.replace(/^tcp:/, 'http:')).hostname.replace(/^\[|\]$/g, '')), i).toBe(0);
    }
    for (const host of hosts) {
      expect(host, host).not.toMatch(/(^|\.)(example\.(org|com|net)|localhost|test|invalid)$/);
    }
  });
});
