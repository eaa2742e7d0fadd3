// An OONI Run v2 descriptor (ooni/spec backends/bk-005-ooni-run-v2.md) as
// targets.txt lines, so that a campaign's list of websites can be measured
// by rasad too:
//
//   { "name": "...", "nettests": [
//       { "test_name": "web_connectivity", "inputs": ["https://example.com/"],
//         "inputs_extra": [{ "category_code": "HUMR" }], "options": {...} },
//       { "test_name": "whatsapp" } ] }
//
// Only web_connectivity inputs become targets (each with its category_code
// from inputs_extra, else MISC). Everything else that cannot become a target
// (another test, a bad input, a repeated one, a list the OONI backend fills
// in at run time through targets_name) is a warning naming the file and
// where in the descriptor it is; the rest is still converted.
import { parseJson, JsonSyntaxError, lineAndColumn } from '../config/json.js';
import { DEFAULT_CATEGORY, isCategoryCode } from './categories.js';
import { formatTargetLine } from './citizenlab.js';
import { show } from './host.js';
import { MAX_TARGETS, MAX_TARGETS_FILE_BYTES, parseTargetLine, TargetsError } from './parse.js';

export const WEB_CONNECTIVITY = 'web_connectivity';

/** A descriptor larger than this is not read (a list of MAX_TARGETS inputs with their extras fits). */
const MAX_DESCRIPTOR_CHARS = 4 * MAX_TARGETS_FILE_BYTES;

export function convertOoniRunDescriptor(text: string, file: string): { lines: string[]; warnings: string[] } {
  const refuse = (reason: string, line: number | null = null, where = file): never => {
    throw new TargetsError(file, line, [], `${where}: ${reason}`);
  };
  if (text.length > MAX_DESCRIPTOR_CHARS) refuse(`the descriptor is larger than ${MAX_DESCRIPTOR_CHARS / 1024 / 1024} MiB`);
  let descriptor: unknown;
  try {
    descriptor = parseJson(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = lineAndColumn(text, err.offset);
    refuse(`invalid JSON: ${err.message}`, line, `${file}:${line}:${column}`);
  }
  if (!isRecord(descriptor)) return refuse('not an OONI Run v2 descriptor (the top level must be a JSON object)');
  const nettests = descriptor.nettests;
  if (!Array.isArray(nettests)) return refuse('not an OONI Run v2 descriptor (no "nettests" list)');

  const warnings: string[] = [];
  const warn = (where: string, reason: string) => warnings.push(`${file}: ${where}: ${reason}`);
  if (descriptor.is_expired === true) warnings.push(`${file}: the descriptor is marked expired (is_expired); converted all the same`);
  const entries: { target: string; category: string }[] = [];
  const seen = new Map<string, string>();

  nettests.forEach((nettest: unknown, i) => {
    const at = `nettests[${i}]`;
    if (!isRecord(nettest)) return warn(at, 'not an object (skipped)');
    const name = nettest.test_name;
    if (typeof name !== 'string' || name === '') return warn(at, 'no test_name (skipped)');
    if (name !== WEB_CONNECTIVITY) return warn(`${at} (${show(name, 40)})`, `only ${WEB_CONNECTIVITY} inputs become targets (skipped)`);
    const inputs = nettest.inputs ?? [];
    if (!Array.isArray(inputs)) return warn(`${at}.inputs`, 'not a list (skipped)');
    if (inputs.length === 0) {
      const dynamic = typeof nettest.targets_name === 'string' ? ` (targets_name ${show(nettest.targets_name, 40)}: the OONI backend fills it in at run time)` : '';
      return warn(at, `no inputs${dynamic}; nothing to import`);
    }
    const extras = Array.isArray(nettest.inputs_extra) ? nettest.inputs_extra : [];
    inputs.forEach((input: unknown, j) => {
      const where = `${at}.inputs[${j}]`;
      if (typeof input !== 'string' || input.trim() === '') return warn(where, 'not a URL string (skipped)');
      const url = input.trim();
      if (/\s/.test(url)) return warn(where, `${show(url)} contains whitespace (skipped)`);
      const category = categoryOf(extras[j], (reason) => warn(`${at}.inputs_extra[${j}]`, reason));
      const parsed = parseTargetLine(formatTargetLine(url, category, []));
      if (parsed === null || 'error' in parsed) return warn(where, `${parsed === null ? `${show(url)} is not a target` : parsed.error} (skipped)`);
      const repeated = parsed.inputs.find((x) => seen.has(x));
      if (repeated !== undefined) return warn(where, `duplicate input ${show(repeated)} (already ${seen.get(repeated)}) (skipped)`);
      if (entries.length === MAX_TARGETS) refuse(`more than ${MAX_TARGETS} targets, the limit of a targets list`);
      for (const x of parsed.inputs) seen.set(x, where);
      entries.push({ target: url, category });
    });
  });

  const width = Math.min(60, Math.max(0, ...entries.map((e) => e.target.length)));
  return { lines: entries.map((e) => formatTargetLine(e.target, e.category, [], width)), warnings };
}

/** The Citizen Lab code from an input's extras, or MISC (with a warning when one was given and is not a code). */
function categoryOf(extra: unknown, warn: (reason: string) => void): string {
  if (!isRecord(extra) || extra.category_code === undefined || extra.category_code === '') return DEFAULT_CATEGORY;
  const code = extra.category_code;
  if (typeof code === 'string' && isCategoryCode(code)) return code;
  warn(`unknown category_code ${show(String(code), 40)}; the target gets ${DEFAULT_CATEGORY}`);
  return DEFAULT_CATEGORY;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
