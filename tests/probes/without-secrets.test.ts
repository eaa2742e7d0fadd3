// withoutSecrets runs for every unit of a sweep: a URL without a client key
// comes back as it is (an '&' in its path included); a key is dropped from
// the query wherever it sits, every copy of it.
import { describe, expect, it } from 'vitest';
import { withoutSecrets } from '../../probes/wireguard.js';

describe('withoutSecrets', () => {
  it('leaves a URL without a query untouched, and still drops a client key wherever it sits', () => {
    for (const url of ['https://example.org/', 'http://t1.bench.test/path/page.html', 'wireguard://h:51820']) expect(withoutSecrets(url)).toBe(url);
    expect(withoutSecrets('wireguard://h:1?ClientKey=AAA')).toBe('wireguard://h:1');
    expect(withoutSecrets('wireguard://h:1?pubkey=BBB&clientkey=AAA#x')).toBe('wireguard://h:1?pubkey=BBB#x');
    expect(withoutSecrets('https://example.org/?q=1&r=2')).toBe('https://example.org/?q=1&r=2');
  });

  it('never rewrites a path: an \'&\' there stays, with or without a key in the query', () => {
    expect(withoutSecrets('http://a.test/b&c')).toBe('http://a.test/b&c');
    expect(withoutSecrets('http://a.test/b&c?clientkey=AAA&d=1')).toBe('http://a.test/b&c?d=1');
    expect(withoutSecrets('http://a.test/b&clientkey=AAA')).toBe('http://a.test/b&clientkey=AAA');
  });

  it('drops every client key, and keeps members that only end in the word', () => {
    expect(withoutSecrets('wireguard://h:1?clientkey=A&pubkey=B&CLIENTKEY=C')).toBe('wireguard://h:1?pubkey=B');
    expect(withoutSecrets('wireguard://h:1?myclientkey=A&clientkey=B')).toBe('wireguard://h:1?myclientkey=A');
  });
});
