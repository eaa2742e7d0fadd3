// The probe registry: one module per probe kind, each implementing Probe.
import { dnsProbe } from './dns.js';
import { httpProbe } from './http.js';
import { protocolProbe } from './protocol.js';
import { tcpProbe } from './tcp.js';
import { throughputProbe } from './throughput.js';
import { tlsProbe } from './tls.js';
import { tlsDurationProbe } from './tls_duration.js';
import type { Probe, ProbeKind } from './types.js';

export type ProbeRegistry = { [K in ProbeKind]: Probe };

export const PROBES: ProbeRegistry = {
  dns: dnsProbe,
  tcp: tcpProbe,
  tls: tlsProbe,
  http: httpProbe,
  tls_duration: tlsDurationProbe,
  throughput: throughputProbe,
  protocol: protocolProbe,
};
