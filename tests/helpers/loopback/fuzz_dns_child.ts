// Fuzzes decodeMessage with fast-check, in its own process so that a hang
// (an infinite loop would block the test runner's thread for good) is
// caught by the parent's timeout. Prints one JSON line of counts.
// Usage: node --import tsx fuzz_dns_child.ts <seed> <runs>
import fc from 'fast-check';
import { DnsDecodeError, decodeMessage, encodeMessage, type DnsMessageInput } from '../../../probes/dns_codec.js';

const seed = Number(process.argv[2] ?? 1);
const numRuns = Number(process.argv[3] ?? 1000);
const counts = { random: 0, mutated: 0, decoded: 0, rejected: 0, roundTrips: 0 };

/** Decodes; only DnsDecodeError may escape, and it is counted. */
function decodeOrReject(bytes: Uint8Array): void {
  try {
    decodeMessage(bytes);
    counts.decoded++;
  } catch (err) {
    if (!(err instanceof DnsDecodeError)) throw err;
    counts.rejected++;
  }
}

const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const record = fc.oneof(
  fc.record({ name, type: fc.constant('A' as const), data: ipv4 }),
  fc.record({ name, type: fc.constant('AAAA' as const), data: ipv6 }),
  fc.record({ name, type: fc.constant('CNAME' as const), data: name }),
);
const message: fc.Arbitrary<DnsMessageInput> = fc.record({
  id: fc.nat(0xffff),
  rcode: fc.nat(15),
  truncated: fc.boolean(),
  questions: fc.array(fc.record({ name, type: fc.constantFrom('A' as const, 'AAAA' as const) }), { maxLength: 2 }),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 2 }),
});

// Mutations a hostile server would make: flip bytes, cut short, plant
// compression pointers (including ones that point at themselves).
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), target: fc.nat(0x3fff) }),
  fc.record({ kind: fc.constant('count' as const), section: fc.nat(3), value: fc.nat(0xffff) }),
);

interface Mutation {
  kind: string;
  at?: number;
  value?: number;
  target?: number;
  section?: number;
}

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let buf = Buffer.from(input);
  for (const m of mutations) {
    if (buf.length === 0) break;
    const at = (m.at ?? 0) % buf.length;
    if (m.kind === 'set') buf[at] = m.value!;
    else if (m.kind === 'cut') buf = buf.subarray(0, at);
    else if (m.kind === 'pointer' && at + 1 < buf.length) {
      buf[at] = 0xc0 | (m.target! >> 8);
      buf[at + 1] = m.target! & 0xff;
    } else if (m.kind === 'count' && buf.length >= 12) buf.writeUInt16BE(m.value!, 4 + 2 * m.section!);
  }
  return buf;
}

fc.assert(
  fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    counts.random++;
    decodeOrReject(bytes);
  }),
  { seed, numRuns },
);

fc.assert(
  fc.property(message, fc.array(mutation, { maxLength: 6 }), (msg, mutations) => {
    counts.mutated++;
    const wire = encodeMessage(msg);
    if (mutations.length === 0) {
      // Unmutated: must decode, and give back what was encoded.
      const decoded = decodeMessage(wire);
      const values = decoded.answers.map((a) => a.value);
      // IPv6 compared in canonical form (the URL parser writes RFC 5952).
      const canonical = (type: unknown, v: unknown) => (type === 'AAAA' ? new URL(`http://[${String(v)}]/`).hostname.slice(1, -1) : v);
      const expected = (msg.answers ?? []).map((a) => canonical(a.type, a.data));
      values.forEach((v, i) => {
        if (canonical(decoded.answers[i]!.typeName, v) !== expected[i]) throw new Error(`round trip: ${v} !== ${String(expected[i])}`);
      });
      if (decoded.id !== msg.id || decoded.answers.length !== (msg.answers ?? []).length) throw new Error('round trip lost records');
      counts.roundTrips++;
      return;
    }
    decodeOrReject(mutate(wire, mutations));
  }),
  { seed, numRuns },
);

process.stdout.write(JSON.stringify(counts) + '\n');
