// OONI's base data format (ooni/spec data-formats/df-000-base.md, README.md
// "Data format version"): the top-level keys around every measurement's
// test_keys. Nothing here identifies the volunteer: probe_ip is always
// "127.0.0.1", and the ASN and country are AS0/ZZ unless the volunteer set them.
import { createHash } from 'node:crypto';
import { arch, platform, versions } from 'node:process';
import { softwareVersion } from '../../paths.js';
import { ooniCompactTime, ooniTime } from '../time.js';

export const DATA_FORMAT_VERSION = '0.2.0';
export const SOFTWARE_NAME = 'rasad';
/** The probe's address is never exported: OONI's value for "withheld". */
export const WITHHELD_PROBE_IP = '127.0.0.1';

export interface EnvelopeOptions {
  /** "AS1234", or "AS0" (withheld). */
  probeAsn: string;
  /** Two capital letters, or "ZZ" (withheld). */
  probeCc: string;
}

export interface EnvelopeInput {
  testName: string;
  testVersion: string;
  input: string | null;
  runId: string;
  /** Start of this measurement (ms since the epoch). */
  measurementStartMs: number;
  /** Start of the run the measurement belongs to (ms). */
  testStartMs: number;
  runtimeS: number;
  /** Data formats used inside test_keys, e.g. {dnst: 0, tcpconnect: 0}. */
  extensions: Record<string, number>;
  testKeys: Record<string, unknown>;
}

let cachedVersion: string | undefined;
function version(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = softwareVersion();
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

// Go's GOARCH names, which df-000's annotations use.
const ARCHITECTURES: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
const PLATFORMS: Record<string, string> = { linux: 'linux', darwin: 'macos', win32: 'windows', freebsd: 'freebsd', android: 'android' };

/**
 * The annotations map (all strings, as df-000 defines it). network_type is
 * OONI's word for the kind of link ("wifi", "mobile", "vpn"): rasad does not
 * look at the volunteer's interfaces, so it says "unknown", OONI's own value
 * when a probe cannot tell.
 */
export function annotations(): Record<string, string> {
  return {
    architecture: ARCHITECTURES[arch] ?? arch,
    engine_name: SOFTWARE_NAME,
    engine_version: version(),
    engine_version_full: `${SOFTWARE_NAME} ${version()} (node ${versions.node}, undici ${versions.undici ?? 'unknown'}, openssl ${versions.openssl})`,
    network_type: 'unknown',
    platform: PLATFORMS[platform] ?? platform,
  };
}

/**
 * A report id in the shape OONI's collector gives (e.g.
 * "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD"): the run's
 * start, the test name without underscores, country, ASN number, and 16
 * letters derived from the run id, so that one run's measurements of one test
 * share a report id and a re-export gives the same one.
 */
export function reportId(runId: string, runStartMs: number, testName: string, cc: string, asn: string): string {
  const digest = createHash('sha256').update(`${runId}\n${testName}`).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (let i = 0; i < 16; i++) suffix += alphabet[digest[i]! % alphabet.length];
  return `${ooniCompactTime(runStartMs)}_${testName.replace(/_/g, '')}_${cc}_${asn.replace(/^AS/i, '')}_n1_${suffix}`;
}

/** One OONI measurement, top-level keys in df-000's order. */
export function envelope(m: EnvelopeInput, options: EnvelopeOptions): Record<string, unknown> {
  return {
    annotations: annotations(),
    data_format_version: DATA_FORMAT_VERSION,
    extensions: m.extensions,
    input: m.input,
    measurement_start_time: ooniTime(m.measurementStartMs),
    probe_asn: options.probeAsn,
    probe_cc: options.probeCc,
    probe_ip: WITHHELD_PROBE_IP,
    report_id: reportId(m.runId, m.testStartMs, m.testName, options.probeCc, options.probeAsn),
    software_name: SOFTWARE_NAME,
    software_version: version(),
    test_helpers: {},
    test_keys: m.testKeys,
    test_name: m.testName,
    test_runtime: m.runtimeS,
    test_start_time: ooniTime(m.testStartMs),
    test_version: m.testVersion,
  };
}

/**
 * envelope()'s JSON lines, written as text: the members that are the same
 * for every measurement of an export (annotations, probe fields, software)
 * are serialised once, report ids once per run and test, and only test_keys
 * and the few other varying members are stringified per measurement. Gives
 * the bytes of `JSON.stringify(envelope(m, options)) + "\n"`, key order
 * included (tests/export/fast-path-golden.test.ts).
 */
export class EnvelopeLines {
  private readonly head: string;
  private readonly probeMembers: string;
  private readonly softwareMembers: string;
  private readonly extensions = new WeakMap<object, string>();
  private readonly reportIds = new Map<string, string>();

  constructor(private readonly options: EnvelopeOptions) {
    this.head = `{"annotations":${JSON.stringify(annotations())},"data_format_version":${JSON.stringify(DATA_FORMAT_VERSION)},"extensions":`;
    this.probeMembers = `,"probe_asn":${JSON.stringify(options.probeAsn)},"probe_cc":${JSON.stringify(options.probeCc)},"probe_ip":${JSON.stringify(WITHHELD_PROBE_IP)},"report_id":`;
    this.softwareMembers = `,"software_name":${JSON.stringify(SOFTWARE_NAME)},"software_version":${JSON.stringify(version())},"test_helpers":{},"test_keys":`;
  }

  line(m: EnvelopeInput): string {
    return (
      this.head +
      this.extensionsJson(m.extensions) +
      ',"input":' +
      JSON.stringify(m.input) +
      ',"measurement_start_time":' +
      JSON.stringify(ooniTime(m.measurementStartMs)) +
      this.probeMembers +
      JSON.stringify(this.reportId(m)) +
      this.softwareMembers +
      JSON.stringify(m.testKeys) +
      ',"test_name":' +
      JSON.stringify(m.testName) +
      ',"test_runtime":' +
      JSON.stringify(m.runtimeS) +
      ',"test_start_time":' +
      JSON.stringify(ooniTime(m.testStartMs)) +
      ',"test_version":' +
      JSON.stringify(m.testVersion) +
      '}\n'
    );
  }

  private extensionsJson(extensions: Record<string, number>): string {
    let json = this.extensions.get(extensions);
    if (json === undefined) this.extensions.set(extensions, (json = JSON.stringify(extensions)));
    return json;
  }

  // A hash per measurement was a twentieth of the export; one run's measurements of one test share the id.
  private reportId(m: EnvelopeInput): string {
    const key = `${m.runId}\n${m.testName}\n${m.testStartMs}`;
    let id = this.reportIds.get(key);
    if (id === undefined) {
      id = reportId(m.runId, m.testStartMs, m.testName, this.options.probeCc, this.options.probeAsn);
      // Bounded: an export of many runs must not hold every id.
      if (this.reportIds.size >= 4096) this.reportIds.clear();
      this.reportIds.set(key, id);
    }
    return id;
  }
}
