// Secure and discreet defaults: what a volunteer gets with no configuration.
import { describe, expect, it } from 'vitest';
import { OONI_TEST_HELPERS, defaultConfig } from '../../src/config/schema.js';

describe('defaults', () => {
  const config = defaultConfig();

  it('looks like a common browser on the wire, not like rasad', () => {
    expect(config.probe.userAgent).toMatch(/^Mozilla\/5\.0 \(.+\) AppleWebKit\/[\d.]+ \(KHTML, like Gecko\) Chrome\/[\d.]+ Safari\/[\d.]+$/);
    expect(config.probe.userAgent).not.toMatch(/rasad/i);
  });

  it('contacts nothing but the targets and OONI\'s public control helpers unless told to: no DoH server, no webhook', () => {
    expect(config.probe.dohUrl).toBeNull();
    // The control is what makes a verdict possible with no setup; `controls: []` (RASAD_CONTROL=none) turns it off.
    expect(config.controls).toEqual([...OONI_TEST_HELPERS]);
    expect(config.controls.every((url) => /^https:\/\/[0-9]\.th\.ooni\.org\/$/.test(url))).toBe(true);
    expect(config.webhooks).toEqual([]);
  });

  it('serves the dashboard and metrics on loopback only, withholds the ASN and country, and skips circumvention tools', () => {
    expect(config.http.bind).toBe('127.0.0.1');
    expect(config.probeAsn).toBe('AS0');
    expect(config.probeCc).toBe('ZZ');
    expect(config.probeCircumvention).toBe(false);
  });
});
