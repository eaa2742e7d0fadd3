// tcpProbe against real loopback listeners, refused ports, and (for what
// loopback cannot do: dropped SYNs, unreachable routes) a namespace of ours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeInputError } from '../../probes/net.js';
import { MAX_ADDRESSES, portsFor, tcpProbe } from '../../probes/tcp.js';
import type { ProbeResult, TcpDetails } from '../../probes/types.js';
import { TestNetns } from '../helpers/loopback/netns.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { refusedPort, tcpServer, type TestServer } from '../helpers/loopback/tcp.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';

const keep = closeAfterEach();
const listening = (): Promise<TestServer> => keep(tcpServer((socket) => socket.resume()));

describe('tcpProbe', () => {
  it('connects and records the connect time', async () => {
    const server = await listening();
    const result = await tcpProbe.run(probeInput(`tcp://127.0.0.1:${server.port}`, [], noDnsOptions()), never());
    expect(result.failure).toBeNull();
    expect(result.failed_operation).toBeNull();
    expect(result.details.connects).toHaveLength(1);
    const [c] = result.details.connects;
    expect(c).toMatchObject({ ip: '127.0.0.1', port: server.port, failure: null });
    expect(c!.connect_ms).toBeGreaterThanOrEqual(0);
    expect(c!.t).toBeGreaterThanOrEqual(c!.t0);
    expect(server.accepted).toBe(1);
  });

  it('a refused port is connection_refused in the connect operation', async () => {
    const port = await refusedPort();
    const result = await tcpProbe.run(probeInput(`tcp://127.0.0.1:${port}`, [], noDnsOptions()), never());
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
    expect(result.details.connects[0]).toMatchObject({ failure: 'connection_refused', connect_ms: null });
  });

  it('for http URLs also tries the other web port; only the URL\'s own port decides', async () => {
    const server = await listening();
    const result = await tcpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], noDnsOptions()), never());
    expect(result.details.connects.map((c) => c.port)).toEqual([server.port, 443]);
    expect(result.failure).toBeNull();
    expect(portsFor('https', 443)).toEqual([443, 80]);
    expect(portsFor('http', 80)).toEqual([80, 443]);
    expect(portsFor('tcp', 22)).toEqual([22]);
  });

  it('succeeds when any address works on the URL\'s port, else reports the first failure', async () => {
    const server = await listening();
    // Nothing listens on 127.0.0.3: refused.
    const mixed = await tcpProbe.run(probeInput(`tcp://blocked.test:${server.port}`, ['127.0.0.3', '127.0.0.1'], noDnsOptions()), never());
    expect(mixed.details.connects.map((c) => [c.ip, c.failure])).toEqual([
      ['127.0.0.3', 'connection_refused'],
      ['127.0.0.1', null],
    ]);
    expect(mixed.failure).toBeNull();
    const none = await tcpProbe.run(probeInput(`tcp://blocked.test:${server.port}`, ['127.0.0.3', '127.0.0.4'], noDnsOptions()), never());
    expect(none.failure).toBe('connection_refused');
  });

  it('connects to at most 4 addresses, and ignores entries that are not IPs', async () => {
    const server = await listening();
    const addresses = ['127.0.0.1', 'junk', '127.0.0.2', '127.0.0.1', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    const result = await tcpProbe.run(probeInput(`tcp://blocked.test:${server.port}`, addresses, noDnsOptions()), never());
    expect(result.details.connects.map((c) => c.ip)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(MAX_ADDRESSES).toBe(4);
  });

  it('with no addresses it asks the system resolver (localhost here)', async () => {
    const server = await listening();
    const result = await tcpProbe.run(probeInput(`tcp://localhost:${server.port}`, [], noDnsOptions()), never());
    expect(result.details.connects.map((c) => c.ip)).toContain('127.0.0.1');
    expect(result.failure).toBeNull();
  });

  it('bad input throws; an abort before the start is recorded as interrupted', async () => {
    await expect(tcpProbe.run(probeInput('tcp://127.0.0.1', [], noDnsOptions()), never())).rejects.toBeInstanceOf(ProbeInputError);
    await expect(tcpProbe.run(probeInput('::::', [], noDnsOptions()), never())).rejects.toBeInstanceOf(ProbeInputError);
    const controller = new AbortController();
    controller.abort();
    const server = await listening();
    const result = await tcpProbe.run(probeInput(`tcp://127.0.0.1:${server.port}`, [], noDnsOptions()), controller.signal);
    expect(result.failure).toBe('interrupted');
  });
});

describe('tcpProbe in a namespace of ours', () => {
  let ns: TestNetns;
  beforeAll(() => {
    ns = TestNetns.create();
    ns.exec(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
    ns.exec(['ip', 'route', 'add', 'unreachable', '10.99.0.0/16']);
  });
  afterAll(() => ns?.destroy());

  it('dropped SYNs: our per-phase deadline ends the connect with generic_timeout_error', async () => {
    const result = await ns.child<ProbeResult<TcpDetails>>({ kind: 'probe', probe: 'tcp', url: 'tcp://127.0.0.1:9', options: { timeoutMs: 500 } });
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.failed_operation).toBe('connect');
    const c = result.details.connects[0]!;
    expect(c.t - c.t0).toBeGreaterThanOrEqual(0.45);
  });

  it('an unreachable route is host_unreachable', async () => {
    const result = await ns.child<ProbeResult<TcpDetails>>({ kind: 'probe', probe: 'tcp', url: 'https://blocked.test/', addresses: ['10.99.0.7'] });
    expect(result.details.connects.map((c) => [c.port, c.failure])).toEqual([
      [443, 'host_unreachable'],
      [80, 'host_unreachable'],
    ]);
    expect(result.failure).toBe('host_unreachable');
  });
});
