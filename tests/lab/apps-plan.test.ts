// The messaging-app stand-ins' plan, without namespaces: the lab's
// probe.appEndpoints is a config rasad accepts, every name in it is a lab
// site that world's DNS answers, every address is the lab's, and the
// Messenger stand-ins sit in the AS the facebook_messenger judge expects.
import { describe, expect, it } from 'vitest';
import { FACEBOOK_ASN, splitEndpoint } from '../../probes/app_endpoints.js';
import { isBogon } from '../../probes/bogons.js';
import { loadConfig } from '../../src/config/load.js';
import { lookupAsn } from '../../src/net/asn.js';
import { isLabAddress, siteByName, SITES, WEB_SITES } from '../../lab/addresses.js';
import { appsServiceConfig, labAppEndpoints, SIGNAL_HOSTS, TELEGRAM_DC_IPS, WHATSAPP_CHAT_IPS } from '../../lab/apps.js';
import { dnsConfig } from '../../lab/harness.js';
import { makePki } from '../helpers/certs.js';

const caPem = makePki('lab apps plan CA').ca.cert;
const endpoints = labAppEndpoints(caPem);

describe('lab app endpoints', () => {
  it('load as rasad config (probe.appEndpoints) unchanged', () => {
    const config = loadConfig({ env: {}, overrides: { probe: { appEndpoints: endpoints } }, overridesSource: 'lab' });
    expect(config.probe.appEndpoints).toEqual(endpoints);
  });

  it('name only lab sites with public-looking lab addresses, none pinned', () => {
    expect(endpoints.hosts).toBeUndefined();
    const names = [
      ...endpoints.telegram!.web!.map((u) => new URL(u).hostname),
      ...endpoints.whatsapp!.endpoints!.map((e) => splitEndpoint(e).host),
      new URL(endpoints.whatsapp!.registration!).hostname,
      new URL(endpoints.whatsapp!.web!).hostname,
      ...endpoints.signal!.backends!.map((u) => new URL(u).hostname),
      ...endpoints.facebook_messenger!.services!.map((s) => s.hostname),
    ];
    const dns = dnsConfig(['5.9.10.53']);
    for (const name of names) {
      const site = siteByName(name);
      expect(site, name).toBeDefined();
      expect(dns.records[name], name).toEqual([site!.ip]);
    }
    const addresses = [...endpoints.telegram!.datacenters!.map((e) => splitEndpoint(e).host), ...names.map((n) => siteByName(n)!.ip)];
    for (const ip of addresses) {
      expect(isLabAddress(ip), ip).toBe(true);
      expect(isBogon(ip), ip).toBe(false);
    }
    expect(new Set(SITES.map((s) => s.ip)).size).toBe(SITES.length);
  });

  it("put Messenger's stand-ins in Facebook's AS, and no other app's", async () => {
    for (const s of endpoints.facebook_messenger!.services!) expect(await lookupAsn(siteByName(s.hostname)!.ip), s.hostname).toBe(FACEBOOK_ASN);
    for (const ip of [...TELEGRAM_DC_IPS, ...WHATSAPP_CHAT_IPS]) expect(await lookupAsn(ip), ip).not.toBe(FACEBOOK_ASN);
  });

  it('serve each role once: data centres and Signal hosts by the apps service, the rest by the web server', () => {
    const service = appsServiceConfig({ certFile: '/x.pem', keyFile: '/x.key' });
    expect(service.telegram.ips).toEqual(TELEGRAM_DC_IPS);
    expect(service.signal.ips).toEqual(SIGNAL_HOSTS.map((h) => siteByName(h)!.ip));
    const web = new Set(WEB_SITES.map((s) => s.ip));
    for (const ip of [...service.telegram.ips, ...service.signal.ips]) expect(web.has(ip), ip).toBe(false);
    // WhatsApp's chat hosts answer 443 as plain sites and 5222 in the apps service.
    for (const ip of service.whatsapp.ips) expect(web.has(ip), ip).toBe(true);
    expect(service.whatsapp.ports).not.toContain(443);
  });
});
