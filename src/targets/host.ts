// Host checks shared by the targets parser and the importer. The WHATWG URL
// parser is lenient about host names ("a..b", "-x.com" and "a_b.com" all
// pass), so names are checked again here against the DNS rules (RFC 1035
// labels, RFC 5891 IDNA through node:url's domainToASCII).
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

const MAX_NAME = 253;
const MAX_LABEL = 63;

/**
 * Why an ASCII, lower-case host name (as `new URL().hostname` gives it) is
 * not usable; null when it is. IP literals pass.
 */
export function hostnameProblem(host: string): string | null {
  if (host.startsWith('[') || isIPv4(host)) return null;
  if (host === '') return 'no host';
  const shown = show(host);
  if (host.endsWith('.') && !host.endsWith('..')) return `bad domain ${shown} (drop the trailing dot)`;
  if (host.length > MAX_NAME) return `bad domain ${shown} (longer than ${MAX_NAME} characters)`;
  const labels = host.split('.');
  for (const label of labels) {
    if (label === '') return `bad domain ${shown} (empty label)`;
    if (label.length > MAX_LABEL) return `bad domain ${shown} (a label is longer than ${MAX_LABEL} characters)`;
    if (!/^[a-z0-9-]+$/.test(label)) return `bad domain ${shown} (label "${label.slice(0, 20)}" has characters other than letters, digits and hyphens)`;
    if (label.startsWith('-') || label.endsWith('-')) return `bad domain ${shown} (a label starts or ends with a hyphen)`;
  }
  // A numeric last label would make the name read as a (bad) IPv4 address.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `bad domain ${shown} (the last label is numeric; an IPv4 address must be four numbers from 0 to 255)`;
  return null;
}

/** A host as written in tcp://HOST:port, checked and normalised (IDNA, lower case, IPv6 compressed, in brackets). */
export function normaliseHost(written: string): { host: string } | { error: string } {
  if (written.startsWith('[')) {
    if (!written.endsWith(']') || !isIPv6(written.slice(1, -1))) return { error: `bad IPv6 address ${show(written)}` };
    // The URL parser prints IPv6 in its canonical, compressed form.
    return { host: new URL(`http://${written}/`).hostname };
  }
  if (isIPv6(written)) return { error: `IPv6 addresses go in brackets: [${written}]` };
  if (/^[0-9.]+$/.test(written)) {
    return isIPv4(written) ? { host: written } : { error: `bad IPv4 address ${show(written)}` };
  }
  const ascii = domainToASCII(written);
  if (ascii === '') return { error: `bad domain ${show(written)} (not a valid internationalised name)` };
  const problem = hostnameProblem(ascii);
  return problem ? { error: problem } : { host: ascii };
}

/** A value quoted for an error message, cut short so one bad line stays one line. */
export function show(value: string, max = 80): string {
  const cut = value.length > max ? value.slice(0, max) + '…' : value;
  return JSON.stringify(cut);
}
