// The DNS codec against hand-written wire bytes (not only its own encoder's
// output), and against each kind of malformed input a hostile server sends.
import { describe, expect, it } from 'vitest';
import { DnsDecodeError, DnsEncodeError, decodeMessage, encodeMessage, encodeQuery, rcodeName } from '../../probes/dns_codec.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// A response for example.org A, with compressed names: the answer's owner
// is a pointer to offset 12 (the question name), as real servers write it.
//   id 0xbeef, flags 0x8180 (QR RD RA, NOERROR), 1 question, 2 answers
const RESPONSE = hex(`
  beef 8180 0001 0002 0000 0000
  07 6578616d706c65 03 6f7267 00  0001 0001
  c00c 0005 0001 0000012c 0006 03777777 c00c
  c029 0001 0001 00000e10 0004 0a0a2224
`);

describe('encodeQuery', () => {
  it('writes the header, the labels and the question exactly', () => {
    expect(encodeQuery('example.org', 'A', 0x1234).toString('hex')).toBe(
      '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + '076578616d706c65' + '036f7267' + '00' + '0001' + '0001',
    );
    const aaaa = encodeQuery('example.org.', 'AAAA', 7);
    expect(aaaa.readUInt16BE(aaaa.length - 4)).toBe(28);
  });

  it('refuses names DNS cannot carry', () => {
    expect(() => encodeQuery('a'.repeat(64) + '.org', 'A', 1)).toThrow(DnsEncodeError);
    expect(() => encodeQuery('a..org', 'A', 1)).toThrow(DnsEncodeError);
    expect(() => encodeQuery(Array(50).fill('abcdef').join('.'), 'A', 1)).toThrow(DnsEncodeError);
    expect(() => encodeQuery('bad name.org', 'A', 1)).toThrow(DnsEncodeError);
    expect(() => encodeQuery('example.org', 'A', 70000)).toThrow(DnsEncodeError);
  });
});

describe('decodeMessage', () => {
  it('reads A and CNAME answers through compression pointers', () => {
    const msg = decodeMessage(RESPONSE);
    expect(msg.id).toBe(0xbeef);
    expect(msg.response).toBe(true);
    expect(msg.rcodeName).toBe('NOERROR');
    expect(msg.truncated).toBe(false);
    expect(msg.questions).toEqual([{ name: 'example.org', type: 1, class: 1 }]);
    expect(msg.answers.map((a) => [a.name, a.typeName, a.value, a.ttl])).toEqual([
      ['example.org', 'CNAME', 'www.example.org', 300],
      ['www.example.org', 'A', '10.10.34.36', 3600],
    ]);
  });

  it('reads AAAA answers in RFC 5952 form', () => {
    const msg = decodeMessage(
      encodeMessage({
        id: 1,
        questions: [{ name: 'x.test', type: 'AAAA' }],
        answers: [
          { name: 'x.test', type: 'AAAA', data: 'd0::11' },
          { name: 'x.test', type: 'AAAA', data: '2001:db8:0:0:1:0:0:1' },
          { name: 'x.test', type: 'AAAA', data: '::ffff:1.2.3.4' },
        ],
      }),
    );
    expect(msg.answers.map((a) => a.value)).toEqual(['d0::11', '2001:db8::1:0:0:1', '::ffff:102:304']);
  });

  it('names the rcodes', () => {
    for (const [code, name] of [
      [0, 'NOERROR'],
      [2, 'SERVFAIL'],
      [3, 'NXDOMAIN'],
      [5, 'REFUSED'],
      [15, 'RCODE15'],
    ] as const) {
      expect(decodeMessage(encodeMessage({ id: 2, rcode: code })).rcodeName).toBe(name);
      expect(rcodeName(code)).toBe(name);
    }
  });

  it('keeps the complete part of a truncated (TC) message and says so', () => {
    const full = encodeMessage({
      id: 3,
      truncated: true,
      questions: [{ name: 'x.test', type: 'A' }],
      answers: [
        { name: 'x.test', type: 'A', data: '192.0.2.1' },
        { name: 'x.test', type: 'A', data: '192.0.2.2' },
      ],
    });
    const msg = decodeMessage(full.subarray(0, full.length - 6));
    expect(msg.truncated).toBe(true);
    expect(msg.partial).toBe(true);
    expect(msg.answers.map((a) => a.value)).toEqual(['192.0.2.1']);
  });

  it('keeps unknown record types raw', () => {
    const msg = decodeMessage(encodeMessage({ id: 4, answers: [{ name: 'x.test', type: 16, data: '\u0005hello' }] }));
    expect(msg.answers[0]!.typeName).toBe('TXT');
    expect(msg.answers[0]!.value).toBeNull();
    expect(msg.answers[0]!.rdata.toString('latin1')).toBe('\u0005hello');
  });

  it('escapes label bytes that would make a name ambiguous', () => {
    const buf = hex('0001 8180 0001 0000 0000 0000  03 612e62 00 0001 0001');
    expect(decodeMessage(buf).questions[0]!.name).toBe('a\\.b');
  });

  describe('malformed input is a DnsDecodeError', () => {
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['shorter than a header', hex('beef 8180 0001')],
      ['header promises a question that is not there', hex('beef 8180 0001 0000 0000 0000')],
      ['label runs past the end', hex('beef 8180 0001 0000 0000 0000 3f 6162')],
      ['compression pointer loop (points to itself)', hex('beef 8180 0001 0000 0000 0000 c00c 0001 0001')],
      ['compression pointer loop (two pointers)', hex('beef 8180 0001 0000 0000 0000 c00e c00c 0001 0001')],
      ['compression pointer past the end', hex('beef 8180 0001 0000 0000 0000 c0ff 0001 0001')],
      ['compression pointer cut in half', hex('beef 8180 0001 0000 0000 0000 c0')],
      ['reserved label type 0x40', hex('beef 8180 0001 0000 0000 0000 41 00 0001 0001')],
      ['A record with 5 bytes', hex('beef 8180 0000 0001 0000 0000 00 0001 0001 00000000 0005 0102030405')],
      ['AAAA record with 4 bytes', hex('beef 8180 0000 0001 0000 0000 00 001c 0001 00000000 0004 01020304')],
      ['rdlength past the end', hex('beef 8180 0000 0001 0000 0000 00 0001 0001 00000000 0400 01020304')],
      ['CNAME whose name overruns its rdata', hex('beef 8180 0000 0001 0000 0000 00 0005 0001 00000000 0002 0361 62 6300')],
      ['answer count larger than the answers', hex('beef 8180 0000 0009 0000 0000 00 0001 0001 00000000 0004 01020304')],
    ];
    it.each(cases)('%s', (_label, buf) => {
      expect(() => decodeMessage(buf)).toThrow(DnsDecodeError);
    });

    it('a name of 256 bytes spread over pointers is refused', () => {
      // 4 labels of 63 bytes = 256 wire bytes with lengths and root.
      const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
      const name = Buffer.concat([label, label, label, label, Buffer.from([0])]);
      const buf = Buffer.concat([hex('beef 8180 0001 0000 0000 0000'), name, hex('0001 0001')]);
      expect(() => decodeMessage(buf)).toThrow(/longer than 255/);
    });
  });
});
