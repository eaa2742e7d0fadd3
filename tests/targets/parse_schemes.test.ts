// The app:// and circumvention schemes of the targets file: each good form
// with its one normalised input, each bad one with its FILE:LINE message.
import { describe, expect, it } from 'vitest';
import { parseEndpointUrl } from '../../probes/endpoint_url.js';
import { parseTargets } from '../../src/targets/parse.js';

// Keys made for these tests only (wg genkey | wg pubkey); the cert is 52 bytes of 0x11.. in base64.
const PUB = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const PRIV = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const CERT = Buffer.alloc(52, 0x11).toString('base64').replace(/=+$/, '');
const FPR = '9695DFC35FFEB861329B9F1AB04C46397020CE31';

function inputsOf(line: string) {
  const { targets, errors } = parseTargets(line, 't.txt');
  expect(errors).toEqual([]);
  return targets[0]!.inputs;
}

function errorOf(line: string) {
  const { targets, errors } = parseTargets(`# header\n${line}`, 'c.txt');
  expect(targets).toEqual([]);
  return errors[0]!.message;
}

describe('targets: app:// and circumvention endpoints', () => {
  it.each([
    ['app://telegram', 'app://telegram'],
    ['APP://WhatsApp/', 'app://whatsapp'],
    ['app://facebook_messenger', 'app://facebook_messenger'],
    ['tor://128.31.0.39:9101', 'tor://128.31.0.39:9101'],
    [`TOR://Relay.Example.ORG.:9001/?fingerprint=${FPR.toLowerCase()}`, `tor://relay.example.org:9001?fingerprint=${FPR}`],
    [`tor://[2001:DB8::0:1]:443?fingerprint=$${FPR}`, `tor://[2001:db8::1]:443?fingerprint=${FPR}`],
    ['tor+dir://127.0.0.1:9030', 'tor+dir://127.0.0.1:9030'],
    [`obfs4://192.0.2.3:443?cert=${CERT}`, `obfs4://192.0.2.3:443?cert=${CERT}&iat-mode=0`],
    [`obfs4://192.0.2.3:443?iat-mode=2&cert=${CERT}==`, `obfs4://192.0.2.3:443?cert=${CERT}&iat-mode=2`],
    ['openvpn+udp://vpn.example.org:1194', 'openvpn+udp://vpn.example.org:1194'],
    ['OpenVPN+TCP://vpn.example.org:443/', 'openvpn+tcp://vpn.example.org:443'],
    [`wireguard://192.0.2.4:51820?pubkey=${PUB}`, `wireguard://192.0.2.4:51820?pubkey=${PUB}`],
    // base64url, unpadded and %-escaped forms of the same key normalise to wg's own.
    [`wireguard://192.0.2.4:51820?pubkey=${PUB.replace(/=$/, '')}`, `wireguard://192.0.2.4:51820?pubkey=${PUB}`],
    [`wireguard://192.0.2.4:51820?pubkey=${encodeURIComponent(PUB)}&clientkey=${PRIV.replace(/\+/g, '-')}`, `wireguard://192.0.2.4:51820?pubkey=${PUB}&clientkey=${PRIV}`],
  ])('%s → %s', (written, input) => {
    expect(inputsOf(written)).toEqual([input]);
  });

  it('keeps the category and tags, and the probes read the input back', () => {
    const { targets } = parseTargets(`wireguard://192.0.2.4:51820?pubkey=${PUB} ANON circumvention`, 't.txt');
    expect(targets[0]).toMatchObject({ category: 'ANON', tags: ['circumvention'] });
    const parsed = parseEndpointUrl(targets[0]!.inputs[0]!, ['wireguard']);
    expect(parsed).toMatchObject({ scheme: 'wireguard', host: '192.0.2.4', port: 51820 });
    expect(parsed.params.get('pubkey')).toBe(PUB);
  });

  it('reports the same endpoint written twice', () => {
    const { errors } = parseTargets(`tor://192.0.2.1:9001\nTOR://192.0.2.1:9001/`, 'd.txt');
    expect(errors.map((e) => e.message)).toEqual(['d.txt:2: duplicate input "tor://192.0.2.1:9001" (already on line 1)']);
  });

  it.each([
    ['app://instagram', 'unknown app "instagram" (expected app://telegram, app://whatsapp, app://signal, app://facebook_messenger)'],
    ['tor://192.0.2.1', 'a tor:// target needs a port (tor://host:port)'],
    ['tor://192.0.2.1:0', 'bad port "0" (expected 1 to 65535)'],
    ['openvpn+udp://192.0.2.1:99999', 'bad port "99999" (expected 1 to 65535)'],
    ['openvpn+tcp://vpn.example.org:443/path', 'a openvpn+tcp:// target is only host:port and its parameters (no path or fragment)'],
    ['tor://2001:db8::1:443', 'IPv6 addresses go in brackets: tor://[2001:db8::1]:443'],
    ['tor://192.0.2.1:9001?fingerprint=abc', 'bad fingerprint "abc" (expected the relay\'s identity fingerprint, 40 hex digits)'],
    ['tor+dir://192.0.2.1:9030?x=1', 'unknown parameter "x" for tor+dir:// (it takes none)'],
    ['wireguard://192.0.2.4:51820', 'a wireguard:// target needs pubkey= (the server\'s public key, 44 base64 characters as `wg pubkey` prints it)'],
    ['wireguard://192.0.2.4:51820?pubkey=notakey', 'bad pubkey "notakey" (expected the server\'s public key, 44 base64 characters as `wg pubkey` prints it)'],
    [`wireguard://192.0.2.4:51820?pubkey=${PUB}&pubkey=${PUB}`, 'parameter pubkey given twice'],
    [`wireguard://192.0.2.4:51820?pubkey=${PUB}&psk=x`, 'unknown parameter "psk" for wireguard:// (expected pubkey, clientkey)'],
    ['obfs4://192.0.2.3:443?cert=short', 'bad cert "short" (expected the bridge line\'s cert=, 70 base64 characters)'],
    [`obfs4://192.0.2.3:443?cert=${CERT}&iat-mode=3`, 'bad iat-mode "3" (expected 0, 1 or 2)'],
    ['obfs4://192.0.2.3:443', 'a obfs4:// target needs cert= (the bridge line\'s cert=, 70 base64 characters)'],
    ['tor://user@192.0.2.1:9001', 'tor:// targets take no credentials'],
    ['tor://bad..name:9001', 'bad domain "bad..name" (empty label)'],
  ])('%s is refused', (line, reason) => {
    expect(errorOf(line)).toBe(`c.txt:2: ${reason}`);
  });
});
