// The targets file: one target a line, `<url-or-domain> [CATEGORY] [tag ...]`,
// `#` (at the start of a line or after a space) starts a comment.
//
//   https://www.youtube.com/   MMED              one URL, normalised
//   facebook.com               GRP               a bare domain: http://d/ and https://d/
//   www.bbc.com/persian        NEWS              a bare domain with a path: both schemes, same path
//   www.aparat.com             MMED  domestic    tags are lower-case words
//   tcp://1.2.3.4:443          ANON              an endpoint: TCP/TLS reachability only
//   app://telegram             COMT              a messaging app, measured by its own experiment
//   tor://1.2.3.4:9001         ANON  circumvention   a Tor OR port; also tor+dir://, obfs4://,
//                                                    openvpn+udp://, openvpn+tcp://, wireguard:// (schemes.ts)
//
// Every bad line is reported with FILE:LINE. A repeated input (the same URL
// on two lines, or a bare domain and one of its URLs) is an error, not a
// warning: the measurements of an input are keyed by it, so two lines with
// possibly different categories or tags for one input cannot both hold.
//
// A list is capped (MAX_TARGETS, MAX_TARGETS_FILE_BYTES): every Citizen Lab
// list together fits, and a runaway file (a million lines once took 3.9 GB)
// is refused with one line instead of filling the memory. The text is walked
// line by line, without splitting it into an array first.
import type { Target } from '../../probes/types.js';
import { TargetsInvalidError } from '../errors.js';
import { FileTooLargeError, readBoundedText, readFailure } from '../read-bounded.js';
import { CITIZEN_LAB_CATEGORIES, DEFAULT_CATEGORY, isCategoryCode } from './categories.js';
import { hostnameProblem, normaliseHost, show } from './host.js';
import { expandNonWeb, isNonWebScheme } from './schemes.js';

export interface TargetLineError {
  file: string;
  line: number;
  /** What is wrong, without the location. */
  reason: string;
  /** `FILE:LINE: reason`. */
  message: string;
}

export interface ParsedTargets {
  targets: Target[];
  /** The first MAX_REPORTED_ERRORS bad lines. */
  errors: TargetLineError[];
  /** Every bad line, reported or not (a file of garbage is not held in memory as a million errors). */
  badLines: number;
}

/** A targets file that cannot be used. Code RASAD_TARGETS_INVALID: the CLI prints the one line and exits 2. */
export class TargetsError extends TargetsInvalidError {
  override name = 'TargetsError';
  constructor(
    readonly file: string,
    /** The first bad line, or null when the file as a whole is the problem. */
    readonly line: number | null,
    readonly errors: TargetLineError[],
    message: string,
  ) {
    super(message);
  }
}

export const MAX_TAGS = 8;
/** Targets in one list at most: every Citizen Lab list together (about 150 lists) fits. */
export const MAX_TARGETS = 50_000;
/** A targets file's size at most, in bytes (UTF-8). */
export const MAX_TARGETS_FILE_BYTES = 5 * 1024 * 1024;
/** Bad lines kept with their message; the others are only counted. */
export const MAX_REPORTED_ERRORS = 1000;
const MAX_LINE = 4096;
const MAX_TARGET = 2048;
const TAG = /^[a-z][a-z0-9_-]{0,31}$/;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && text.length <= 2048 && !url.username && !url.password;
  } catch {
    return false;
  }
}
const CODE_LIKE = /^[A-Z][A-Z0-9]*$/;

/** Parses a whole file's text. Never throws: bad lines come back in `errors`, good ones in `targets`. */
export function parseTargets(text: string, file: string): ParsedTargets {
  const targets: Target[] = [];
  const errors: TargetLineError[] = [];
  let badLines = 0;
  const seen = new Map<string, number>();
  const fail = (lineNo: number, reason: string) => {
    badLines++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ file, line: lineNo, reason, message: `${file}:${lineNo}: ${reason}` });
  };
  let bytes = 0;
  let start = text.startsWith('\uFEFF') ? 1 : 0;
  for (let lineNo = 1; start <= text.length; lineNo++) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end);
    start = end + 1;
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > MAX_TARGETS_FILE_BYTES + 1) {
      fail(lineNo, `the file goes over ${MAX_TARGETS_FILE_BYTES} bytes (5 MiB), the limit of a targets list, at this line (split the list)`);
      break;
    }
    const parsed = parseTargetLine(line);
    if (parsed === null) continue;
    if ('error' in parsed) {
      fail(lineNo, parsed.error);
      continue;
    }
    if (targets.length === MAX_TARGETS) {
      fail(lineNo, `more than ${MAX_TARGETS} targets, the limit of a targets list (split the list)`);
      break;
    }
    const repeated = parsed.inputs.find((input) => seen.has(input));
    if (repeated !== undefined) {
      fail(lineNo, `duplicate input ${show(repeated)} (already on line ${seen.get(repeated)})`);
      continue;
    }
    for (const input of parsed.inputs) seen.set(input, lineNo);
    targets.push({ ...parsed, file, line: lineNo });
  }
  return { targets, errors, badLines };
}

/**
 * A targets file's text, read only up to the size limit: a file larger than
 * that is refused before it is read, and never held in memory whole.
 * `shown` is how messages name it (as the user wrote it).
 */
export function readTargetsFile(path: string, shown = path): string {
  try {
    return readBoundedText(path, MAX_TARGETS_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileTooLargeError) {
      throw new TargetsError(shown, null, [], `${shown}: the targets file is larger than 5 MiB (${MAX_TARGETS_FILE_BYTES} bytes), the limit of a targets list (split the list)`);
    }
    throw new TargetsError(shown, null, [], `${shown}: cannot read the targets file (${readFailure(err)})`);
  }
}

/** Reads and parses a targets file; throws a TargetsError naming the first bad line (and how many others). */
export function loadTargets(path: string): Target[] {
  const { targets, errors, badLines } = parseTargets(readTargetsFile(path), path);
  if (badLines > 0) {
    const others = badLines - 1;
    const more = others > 0 ? ` (and ${others} more bad line${others === 1 ? '' : 's'})` : '';
    throw new TargetsError(path, errors[0]!.line, errors, errors[0]!.message + more);
  }
  if (targets.length === 0) throw new TargetsError(path, null, [], `${path}: no targets (every line is blank or a comment)`);
  return targets;
}

type LineResult = Omit<Target, 'file' | 'line'> | { error: string } | null;

/** One line without its location: null for a blank or comment line. */
export function parseTargetLine(line: string): LineResult {
  const comment = /(^|\s)#/.exec(line);
  const content = comment ? line.slice(0, comment.index) : line;
  if (content.length > MAX_LINE) return { error: `line longer than ${MAX_LINE} characters` };
  // Tabs separate fields; other control characters are garbage (a binary file, a pasted escape).
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(content)) return { error: 'control character in the line' };
  const fields = content.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length === 0) return null;

  const expanded = expandTarget(fields[0]!);
  if ('error' in expanded) return expanded;

  let category = DEFAULT_CATEGORY;
  let rest = fields.slice(1);
  if (rest.length > 0 && CODE_LIKE.test(rest[0]!)) {
    if (!isCategoryCode(rest[0]!)) return { error: unknownCategory(rest[0]!) };
    category = rest[0]!;
    rest = rest.slice(1);
  } else if (rest.length > 0 && isCategoryCode(rest[0]!.toUpperCase())) {
    return { error: `category codes are upper case: write ${rest[0]!.toUpperCase()}, not ${show(rest[0]!)}` };
  }
  if (rest.length > MAX_TAGS) return { error: `too many fields (a target, a category and at most ${MAX_TAGS} tags)` };
  const tags: string[] = [];
  for (const field of rest) {
    if (CODE_LIKE.test(field) && isCategoryCode(field)) return { error: `the category ${field} must come right after the target` };
    if (field.startsWith('throughput=')) {
      // The bulk resource the throughput probe downloads for this target (README: Targets).
      if (!isHttpUrl(field.slice('throughput='.length))) return { error: `throughput= must be followed by an http:// or https:// URL, not ${show(field.slice(11), 40)}` };
      if (tags.some((t) => t.startsWith('throughput='))) return { error: 'throughput= given twice' };
      tags.push(field);
      continue;
    }
    if (!TAG.test(field)) return { error: `unexpected field ${show(field, 40)} (tags are lower-case words of letters, digits, - and _)` };
    if (!tags.includes(field)) tags.push(field);
  }
  return { raw: fields[0]!, category, tags, inputs: expanded.inputs };
}

export function unknownCategory(code: string): string {
  const examples = ['NEWS', 'GRP', 'MMED', 'ANON', 'COMT'].filter((c) => c in CITIZEN_LAB_CATEGORIES).join(', ');
  return `unknown category code ${show(code, 40)} (Citizen Lab codes such as ${examples}; see src/targets/categories.ts)`;
}

/** The inputs a target (the first field) expands to, normalised, or why it is bad. */
export function expandTarget(written: string): { inputs: string[] } | { error: string } {
  if (written.length > MAX_TARGET) return { error: `target longer than ${MAX_TARGET} characters` };
  const withScheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(written);
  if (withScheme) {
    const scheme = withScheme[1]!.toLowerCase();
    if (scheme === 'http' || scheme === 'https') {
      const url = normaliseWebUrl(written, withScheme[0].length);
      return 'error' in url ? url : { inputs: [url.href] };
    }
    if (scheme === 'tcp') return normaliseTcp(written.slice(withScheme[0].length));
    if (isNonWebScheme(scheme)) return expandNonWeb(scheme, written.slice(withScheme[0].length));
    return { error: unknownScheme(withScheme[1]!) };
  }
  // "mailto:x", "javascript:x": a scheme without "//". "host:8080" is a bare name with a port.
  const opaque = /^([A-Za-z][A-Za-z0-9+-]*):(?![0-9])/.exec(written);
  if (opaque) return { error: unknownScheme(opaque[1]!) };
  return expandBare(written);
}

function unknownScheme(scheme: string): string {
  return `unknown scheme ${show(scheme, 20)} (expected http://, https://, tcp:// or a bare domain)`;
}

/** The authority (between "//" and the path) and whether it carries a port or credentials. */
function splitAuthority(afterSlashes: string): { host: string; port: string | undefined; credentials: boolean } | { error: string } {
  const end = afterSlashes.search(/[/?#\\]/);
  let authority = end === -1 ? afterSlashes : afterSlashes.slice(0, end);
  const at = authority.lastIndexOf('@');
  const credentials = at !== -1;
  if (credentials) authority = authority.slice(at + 1);
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return { error: `bad IPv6 address ${show(authority)} (no closing bracket)` };
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { error: `unexpected ${show(after, 20)} after the IPv6 address` };
    return { host: authority.slice(0, close + 1), port: after === '' ? undefined : after.slice(1), credentials };
  }
  const colon = authority.lastIndexOf(':');
  if (colon === -1) return { host: authority, port: undefined, credentials };
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1), credentials };
}

function portProblem(port: string): string | null {
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `bad port ${show(port, 20)} (expected 1 to 65535)`;
  return null;
}

function normaliseWebUrl(written: string, authorityStart: number): { href: string } | { error: string } {
  const authority = splitAuthority(written.slice(authorityStart));
  if ('error' in authority) return authority;
  // Never echo credentials back: an error message may end up in a log.
  if (authority.credentials) return { error: 'URLs with credentials (user:password@) are not allowed' };
  if (authority.host === '') return { error: 'the URL has no host' };
  if (authority.port !== undefined) {
    const problem = portProblem(authority.port);
    if (problem) return { error: problem };
  }
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return { error: `bad URL ${show(written)}` };
  }
  // A fully qualified name's trailing dot ("www.kproxy.com.", as some lists write it) names the same host.
  const host = withoutTrailingDot(url.hostname);
  if (host !== url.hostname) url.hostname = host;
  const problem = hostnameProblem(url.hostname);
  if (problem) return { error: problem };
  // A fragment never goes on the wire, so two lines differing only by one are
  // the same input; but a "#!" (hashbang) fragment is a route of the page
  // (http://twitter.com/#!/name), and lists use it to tell pages apart: it stays.
  if (!url.hash.startsWith('#!')) url.hash = '';
  return { href: url.href };
}

function normaliseTcp(afterSlashes: string): { inputs: string[] } | { error: string } {
  const body = afterSlashes.endsWith('/') ? afterSlashes.slice(0, -1) : afterSlashes;
  if (body.includes('@')) return { error: 'tcp:// targets take no credentials' };
  if (/[/?#\\]/.test(body)) return { error: 'a tcp:// target is only host:port (no path or query)' };
  if (!body.startsWith('[') && (body.match(/:/g) ?? []).length > 1) {
    return { error: 'IPv6 addresses go in brackets: tcp://[2001:db8::1]:443' };
  }
  const authority = splitAuthority(body);
  if ('error' in authority) return authority;
  if (authority.port === undefined) return { error: 'a tcp:// target needs a port (tcp://host:port)' };
  if (authority.host === '') return { error: 'the tcp:// target has no host' };
  const problem = portProblem(authority.port);
  if (problem) return { error: problem };
  const host = normaliseHost(withoutTrailingDot(authority.host));
  if ('error' in host) return host;
  return { inputs: [`tcp://${host.host}:${Number(authority.port)}`] };
}

function expandBare(written: string): { inputs: string[] } | { error: string } {
  const authority = splitAuthority(written);
  if ('error' in authority) return authority;
  if (authority.credentials) return { error: 'targets with credentials (user:password@) are not allowed' };
  if (authority.host === '') return { error: `bad target ${show(written)} (expected a URL, a domain or tcp://host:port)` };
  if (authority.port !== undefined) return { error: 'a bare domain takes no port: write http://host:port/ or tcp://host:port' };
  const http = normaliseWebUrl(`http://${written}`, 'http://'.length);
  if ('error' in http) return http;
  const hostname = new URL(http.href).hostname;
  if (!hostname.includes('.') && !hostname.startsWith('[')) {
    return { error: `bare domain ${show(hostname)} has no dot (write the full name, such as ${hostname}.com, or a URL)` };
  }
  const https = normaliseWebUrl(`https://${written}`, 'https://'.length);
  if ('error' in https) return https;
  return { inputs: [http.href, https.href] };
}

/** "x.com." → "x.com"; "x.com.." is left as it is (an empty label, reported as such). */
function withoutTrailingDot(host: string): string {
  return host.endsWith('.') && !host.endsWith('..') ? host.slice(0, -1) : host;
}
