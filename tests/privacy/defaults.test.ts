// Secure and discreet defaults: what a volunteer gets with no configuration.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';

describe('defaults', () => {
  const config = defaultConfig();

  it('looks like a common browser on the wire, not like rasad', () => {
    expect(config.probe.userAgent).toMatch(/^Mozilla\/5\.0 \(.+\) AppleWebKit\/[\d.]+ \(KHTML, like Gecko\) Chrome\/[\d.]+ Safari\/[\d.]+$/);
    expect(config.probe.userAgent).not.toMatch(/rasad/i);
  });

  it('contacts nothing but the targets unless told to: no DoH server, no control helper, no webhook', () => {
    expect(config.probe.dohUrl).toBeNull();
    expect(config.controls).toEqual([]);
    expect(config.webhooks).toEqual([]);
  });

  it('serves the dashboard and metrics on loopback only, withholds the ASN and country, and skips circumvention tools', () => {
    expect(config.http.bind).toBe('127.0.0.1');
    expect(config.probeAsn).toBe('AS0');
    expect(config.probeCc).toBe('ZZ');
    expect(config.probeCircumvention).toBe(false);
  });
});
