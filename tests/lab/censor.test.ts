// Every technique of the lab's censor, shown with standard tools (dig, curl,
// openssl) and the lab's small client tools run in the `client` namespace.
// Each test asserts something that would fail if the censor did nothing.
// Needs root: without it, setupLab throws and every test fails saying so.
import { afterEach, describe, expect, it } from 'vitest';
import {
  CDN_CONTROL_IP, DOMESTIC_DNS_IP, isLabCidr, LAB_RANGES, NAMESPACES, PUBLIC_BLOCKPAGE_IP, REFUSING_IP, SITES,
} from '../../lab/addresses.js';
import { findAddress } from '../../lab/privacy.js';
import { noiseLossCount } from '../../lab/censor-apply.js';
import { tryRun } from '../../lab/exec.js';
import { applyScenario, clearCensor, labInfo } from '../../lab/harness.js';
import { clientTool, curl, dig, inClient, useLab } from './client.js';

interface RaceResult {
  answers: Array<{ t_ms: number; from: string; rcode: string; addresses: string[] }>;
}
interface SessionOutcome {
  end: string;
  died_after_s: number | null;
  requests: number;
}
interface EchoOutcome {
  echoed: boolean[];
  error?: string;
}

const WORLD_DNS = '5.9.10.53';

useLab();

afterEach(() => {
  clearCensor();
});


describe('the lab itself', () => {
  it('serves every site through a censor that does nothing, and never leaks', () => {
    const page = curl(['http://clean.world.test/']);
    expect(page.status).toBe(0);
    expect(page.stdout).toContain('<title>Clean World News</title>');
    expect(curl(['https://www.domestic.test/']).stdout).toContain('<title>Domestic Video Clone</title>');
    for (const ns of NAMESPACES) {
      expect(tryRun('ip', ['-n', ns, 'route', 'show', 'default']).stdout.trim()).toBe('');
      // Every route a namespace has points into the lab's own ranges; an address outside them has no way out.
      const routed = tryRun('ip', ['-n', ns, '-4', 'route', 'show']).stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
      expect(routed.filter((dst) => !isLabCidr(dst.includes('/') ? dst : `${dst}/32`)), ns).toEqual([]);
      expect(tryRun('ip', ['-n', ns, 'route', 'get', '1.1.1.1']).status, `${ns} routes 1.1.1.1`).not.toBe(0);
    }
    // The root namespace has no lab address, route or interface.
    const labAddresses = [...SITES.map((site) => site.ip), CDN_CONTROL_IP, REFUSING_IP, PUBLIC_BLOCKPAGE_IP, WORLD_DNS, DOMESTIC_DNS_IP];
    const rootAddrs = tryRun('ip', ['-o', 'addr']).stdout;
    const rootRoutes = tryRun('ip', ['route', 'show', 'table', 'all']).stdout;
    for (const text of [rootAddrs, rootRoutes]) {
      expect(text).not.toMatch(/10\.77\.|10\.10\.34\./);
      expect(labAddresses.filter((ip) => findAddress(text, ip, 'root').length > 0)).toEqual([]);
      expect(LAB_RANGES.filter((range) => text.includes(range))).toEqual([]);
    }
    expect(tryRun('ip', ['-o', 'link']).stdout).not.toMatch(/to-(censor|client|world|domestic|control)|blockpage0/);
  });
});

describe('DNS', () => {
  it('injects 10.10.34.36 before the real answer, whichever resolver is asked, and the real answer still arrives', async () => {
    await applyScenario({ censor: { dns: [{ names: ['news.world.test'], action: 'inject' }] } });
    expect(dig(['+short', `@${WORLD_DNS}`, 'news.world.test']).stdout.trim()).toBe('10.10.34.36');
    for (const resolver of [WORLD_DNS, '5.9.10.54']) {
      const race = await clientTool<RaceResult>('dns-race', [resolver, 'news.world.test', '1000']);
      expect(race.answers.map((a) => a.addresses)).toEqual([['10.10.34.36'], ['5.9.10.11']]);
      expect(race.answers.every((a) => a.from === resolver)).toBe(true);
    }
    // A resolver address where nothing answers: only the injector does.
    const nobody = await clientTool<RaceResult>('dns-race', ['5.9.99.53', 'news.world.test', '1000']);
    expect(nobody.answers.map((a) => a.addresses)).toEqual([['10.10.34.36']]);
    // Other names are untouched: one real answer.
    const clean = await clientTool<RaceResult>('dns-race', [WORLD_DNS, 'clean.world.test', '1000']);
    expect(clean.answers.map((a) => a.addresses)).toEqual([['5.9.10.10']]);
  });

  it('can drop the real query so that only the forged answer arrives', async () => {
    await applyScenario({ censor: { dns: [{ names: ['video.world.test'], action: 'inject', answer: '10.10.34.35', dropReal: true }] } });
    const race = await clientTool<RaceResult>('dns-race', [WORLD_DNS, 'video.world.test', '1000']);
    expect(race.answers.map((a) => a.addresses)).toEqual([['10.10.34.35']]);
  });

  it('injects NXDOMAIN ahead of the real answer', async () => {
    await applyScenario({ censor: { dns: [{ names: ['social.world.test'], action: 'nxdomain' }] } });
    const r = dig([`@${WORLD_DNS}`, 'social.world.test']);
    expect(r.stdout).toContain('status: NXDOMAIN');
    const race = await clientTool<RaceResult>('dns-race', [WORLD_DNS, 'social.world.test', '1000']);
    expect(race.answers.map((a) => a.rcode)).toEqual(['NXDOMAIN', 'NOERROR']);
    expect(race.answers[1]!.addresses).toEqual(['5.9.10.13']);
  });

  it('times out queries for a listed name (string match on the qname), over UDP and TCP', async () => {
    await applyScenario({ censor: { dns: [{ names: ['blog.world.test'], action: 'timeout' }] } });
    const udp = dig([`@${WORLD_DNS}`, 'blog.world.test']);
    expect(udp.status).toBe(9); // dig: no reply from the server
    expect(udp.stdout).toMatch(/timed out/);
    const tcp = dig(['+tcp', `@${WORLD_DNS}`, 'blog.world.test']);
    expect(tcp.stdout).not.toContain('status: NOERROR');
    expect(dig(['+short', `@${WORLD_DNS}`, 'clean.world.test']).stdout.trim()).toBe('5.9.10.10');
  });
});

describe('TCP', () => {
  it('answers a listed IP:port with a RST, or drops it', async () => {
    await applyScenario({
      censor: {
        tcp: [
          { targets: ['news.world.test'], ports: [80], action: 'rst' },
          { targets: ['video.world.test'], ports: [80], action: 'drop' },
        ],
      },
    });
    const rst = curl(['--max-time', '3', 'http://news.world.test/']);
    expect(rst.status).toBe(7);
    expect(rst.stderr).toMatch(/Couldn't connect|Connection refused/);
    expect(curl(['--connect-timeout', '2', 'http://video.world.test/']).status).toBe(28);
    // The same host's other port, and other hosts, pass.
    expect(curl(['https://news.world.test/']).stdout).toContain('Foreign News Service');
    expect(curl(['http://clean.world.test/']).status).toBe(0);
  });
});

describe('TLS', () => {
  it('resets a ClientHello carrying a listed SNI, whatever the address', async () => {
    await applyScenario({ censor: { sni: [{ names: ['social.world.test'], action: 'rst' }] } });
    const r = curl(['--max-time', '5', 'https://social.world.test/']);
    expect(r.status).toBe(35);
    expect(r.stderr).toContain('Connection reset by peer');
    // The SNI decides, not the address: the clean site's address with the listed name is reset too...
    expect(curl(['--max-time', '5', '--resolve', 'social.world.test:443:5.9.10.10', 'https://social.world.test/']).status).toBe(35);
    const ca = labInfo().pki.caCert;
    const blocked = inClient('openssl', ['s_client', '-connect', '5.9.10.10:443', '-servername', 'social.world.test', '-CAfile', ca], 15_000);
    expect(blocked.stdout + blocked.stderr).toMatch(/errno=104|Connection reset/);
    // ...while the listed site's own address with an innocuous SNI completes the handshake.
    const innocuous = inClient('openssl', ['s_client', '-connect', '5.9.10.13:443', '-servername', 'clean.world.test', '-CAfile', ca], 15_000);
    expect(innocuous.stdout).toContain('Verify return code: 0 (ok)');
  });

  it('drops a ClientHello carrying a listed SNI: the handshake times out', async () => {
    await applyScenario({ censor: { sni: [{ names: ['chat.world.test'], action: 'drop' }] } });
    expect(curl(['--max-time', '3', 'https://chat.world.test/']).status).toBe(28);
    expect(curl(['https://clean.world.test/']).status).toBe(0);
  });
});

describe('HTTP', () => {
  it('resets a request with a listed Host, and leaves HTTPS to the same site alone', async () => {
    await applyScenario({ censor: { http: [{ hosts: ['blog.world.test'], action: 'rst' }] } });
    const r = curl(['--max-time', '5', 'http://blog.world.test/']);
    expect(r.status).toBe(56);
    expect(r.stderr).toContain('Connection reset by peer');
    // The Host header decides: the clean site's address asked for the listed Host is reset too.
    expect(curl(['--max-time', '5', '-H', 'Host: blog.world.test', 'http://clean.world.test/']).status).toBe(56);
    expect(curl(['https://blog.world.test/']).stdout).toContain('Persian Language Weblog');
    expect(curl(['http://clean.world.test/']).stdout).toContain('Clean World News');
  });

  it('injects the Iranian blockpage for a listed Host and forwards other hosts', async () => {
    await applyScenario({ censor: { http: [{ hosts: ['vpn.world.test'], action: 'blockpage' }] } });
    const blocked = curl(['-i', 'http://vpn.world.test/']);
    expect(blocked.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(blocked.stdout).toMatch(/Connection: close/i);
    expect(blocked.stdout).toContain('<iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy"');
    const other = curl(['-i', 'http://clean.world.test/']);
    expect(other.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(other.stdout).toContain('<title>Clean World News</title>');
    expect(other.stdout).not.toContain('iframe');
    expect(curl(['https://vpn.world.test/']).stdout).toContain('Circumvention Tool Downloads');
  });

  it('serves the blockpage on 10.10.34.36, where DNS-injected clients land', async () => {
    await applyScenario({ censor: { dns: [{ names: ['news.world.test'], action: 'inject', dropReal: true }] } });
    const page = curl(['-i', '--max-time', '5', 'http://news.world.test/']);
    expect(page.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(page.stdout).toContain('iframe src="http://10.10');
  });
});

describe('the session cut', () => {
  it('resets a TLS flow N s after it starts while a plain keep-alive flow to the same host lives on', async () => {
    const cutS = 3;
    await applyScenario({ censor: { sessionCut: { targets: ['chat.world.test'], afterS: cutS } } });
    const horizonMs = String((cutS + 4) * 1000);
    const [tls, plain, other] = await Promise.all([
      clientTool<SessionOutcome>('session', ['tls', '5.9.10.14', '443', 'chat.world.test', '1000', horizonMs]),
      clientTool<SessionOutcome>('session', ['plain', '5.9.10.14', '80', 'chat.world.test', '1000', horizonMs]),
      clientTool<SessionOutcome>('session', ['tls', '5.9.10.10', '443', 'clean.world.test', '1000', horizonMs]),
    ]);
    expect(tls.end).toBe('reset');
    expect(tls.died_after_s).not.toBeNull();
    expect(Math.abs(tls.died_after_s! - cutS)).toBeLessThanOrEqual(1);
    expect(tls.requests).toBeGreaterThanOrEqual(2); // it was in use, not refused
    expect(plain.end).toBe('horizon');
    expect(other.end).toBe('horizon');
  });
});

describe('throttling', () => {
  it('polices foreign traffic near the tbf rate while domestic traffic is far faster', async () => {
    const rateKbit = 128;
    await applyScenario({ censor: { throttle: { rateKbit, from: ['world'] } } });
    const speed = (url: string) => {
      const r = curl(['-o', '/dev/null', '-w', '%{speed_download} %{size_download}', url], 60_000);
      expect(r.status).toBe(0);
      const [bps, size] = r.stdout.trim().split(' ').map(Number);
      return { bps: bps!, size: size! };
    };
    const foreign = speed('http://clean.world.test/bulk?bytes=64000');
    const domestic = speed('http://www.domestic.test/bulk?bytes=4000000');
    expect(foreign.size).toBe(64000);
    expect(domestic.size).toBe(4000000);
    const limitBps = (rateKbit * 1000) / 8;
    expect(foreign.bps / limitBps).toBeGreaterThan(0.5);
    expect(foreign.bps / limitBps).toBeLessThan(1.3);
    expect(domestic.bps / foreign.bps).toBeGreaterThan(10);
  });
});

describe('the protocol filter', () => {
  it('drops the later packets of a junk-first flow on 53/80/443 while HTTP- and TLS-first flows pass', async () => {
    // Without the filter, junk is echoed like anything else.
    const before = await clientTool<EchoOutcome>('echo-flow', ['5.9.10.7', '443', 'junk']);
    expect(before.echoed).toEqual([true, true, true, true]);
    await applyScenario({ censor: { protocolFilter: { targets: ['echo.world.test'], ports: [53, 80, 443], inspectPackets: 2 } } });
    for (const port of ['53', '80', '443']) {
      const junk = await clientTool<EchoOutcome>('echo-flow', ['5.9.10.7', port, 'junk']);
      expect(junk.echoed, `junk-first on ${port}`).toEqual([true, true, false, false]);
      const http = await clientTool<EchoOutcome>('echo-flow', ['5.9.10.7', port, 'http']);
      expect(http.echoed, `HTTP-first on ${port}`).toEqual([true, true, true, true]);
    }
    const tls = await clientTool<EchoOutcome>('echo-flow', ['5.9.10.7', '443', 'tls']);
    expect(tls.echoed).toEqual([true, true, true, true]);
  });
});

describe('the shutdown', () => {
  it('blackholes every foreign address while domestic sites and the domestic resolver work', async () => {
    await applyScenario({ censor: { shutdown: true }, resolver: 'domestic' });
    expect(curl(['--max-time', '2', 'http://clean.world.test/']).status).toBe(28);
    expect(curl(['--max-time', '2', 'https://5.9.10.11/']).status).toBe(28);
    expect(dig([`@${WORLD_DNS}`, 'clean.world.test']).status).toBe(9);
    expect(curl(['http://www.domestic.test/']).stdout).toContain('Domestic Video Clone');
    expect(dig(['+short', '@2.144.20.53', 'clean.world.test']).stdout.trim()).toBe('5.9.10.10');
  });
});

describe('sites and controls that fail on their own', () => {
  it('a site really down refuses everyone, the client and the control alike', async () => {
    await applyScenario({ censor: {}, world: { down: ['down.world.test'] } });
    expect(curl(['--max-time', '3', 'http://down.world.test/']).status).toBe(7);
    const fromControl = tryRun('ip', ['netns', 'exec', 'control', 'curl', '-sS', '--max-time', '3', 'http://down.world.test/']);
    expect(fromControl.status).toBe(7);
    expect(curl(['http://clean.world.test/']).status).toBe(0);
  });

  it('a dropped control times out from the client', async () => {
    await applyScenario({ censor: { control: 'dropped' } });
    expect(curl(['--connect-timeout', '2', 'http://10.77.4.2/']).status).toBe(28);
    clearCensor();
    expect(curl(['--connect-timeout', '2', 'http://10.77.4.2/']).status).not.toBe(28);
  });
});

describe('noise without censorship', () => {
  it('loses packets at random and adds latency, and downloads still succeed', async () => {
    await applyScenario({ censor: { noise: { lossProbability: 0.03, delayMs: 40 } } });
    const lostBefore = noiseLossCount();
    for (let i = 0; i < 4; i++) {
      const r = curl(['-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_connect}', 'http://clean.world.test/bulk?bytes=400000'], 60_000);
      expect(r.status).toBe(0);
      const [code, size, connectS] = r.stdout.trim().split(' ');
      expect(code).toBe('200');
      expect(Number(size)).toBe(400000);
      // The SYN-ACK waits in the delay queue: the handshake cannot be faster than the added latency.
      expect(Number(connectS)).toBeGreaterThanOrEqual(0.035);
    }
    expect(noiseLossCount()).toBeGreaterThan(lostBefore);
  });
});
