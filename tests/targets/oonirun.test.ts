// OONI Run v2 descriptors as targets: web_connectivity inputs become lines
// that the targets parser loads; everything else is a warning naming the file
// and the place in the descriptor; unreadable JSON is one error line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { convertOoniRunDescriptor } from '../../src/targets/oonirun.js';
import { parseTargets, TargetsError } from '../../src/targets/parse.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/targets/${name}`, import.meta.url)), 'utf8');

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TargetsError);
    expect(err).toBeInstanceOf(UsageError); // the CLI prints the line and exits 2
    expect((err as Error).message).not.toContain('\n');
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('convertOoniRunDescriptor', () => {
  it('turns web_connectivity inputs into targets lines with their categories, and warns about the rest', () => {
    const { lines, warnings } = convertOoniRunDescriptor(fixture('oonirun-campaign.json'), 'campaign.json');
    expect(lines).toEqual([
      'https://www.bbc.com/persian/     NEWS',
      'https://www.radiofarda.com/      NEWS',
      'http://twitter.com/#!/radiofarda GRP',
      'https://www.iranintl.com/        MISC',
      'www.aparat.com                   MISC',
    ]);
    expect(warnings).toEqual([
      'campaign.json: nettests[0].inputs[3]: unknown scheme "ftp" (expected http://, https://, tcp:// or a bare domain) (skipped)',
      'campaign.json: nettests[0].inputs[4]: duplicate input "https://www.bbc.com/persian/" (already nettests[0].inputs[0]) (skipped)',
      'campaign.json: nettests[0].inputs_extra[5]: unknown category_code "NOPE"; the target gets MISC',
      'campaign.json: nettests[1] ("whatsapp"): only web_connectivity inputs become targets (skipped)',
      'campaign.json: nettests[2]: no inputs (targets_name "websites_list_prioritized": the OONI backend fills it in at run time); nothing to import',
    ]);
    const loaded = parseTargets(lines.join('\n'), 'out.txt');
    expect(loaded.errors).toEqual([]);
    expect(loaded.targets.map((t) => [t.inputs, t.category])).toEqual([
      [['https://www.bbc.com/persian/'], 'NEWS'],
      [['https://www.radiofarda.com/'], 'NEWS'],
      [['http://twitter.com/#!/radiofarda'], 'GRP'],
      [['https://www.iranintl.com/'], 'MISC'],
      [['http://www.aparat.com/', 'https://www.aparat.com/'], 'MISC'],
    ]);
  });

  it('converts the spec example, and an empty nettests list to nothing', () => {
    const spec = '{"name": "Websites", "nettests": [{"inputs": ["https://example.com/"], "inputs_extra": [{"category_code": "HUMR"}], "test_name": "web_connectivity"}, {"test_name": "dnscheck"}]}';
    expect(convertOoniRunDescriptor(spec, 's.json')).toEqual({
      lines: ['https://example.com/ HUMR'],
      warnings: ['s.json: nettests[1] ("dnscheck"): only web_connectivity inputs become targets (skipped)'],
    });
    expect(convertOoniRunDescriptor('{"name": "x", "nettests": []}', 'e.json')).toEqual({ lines: [], warnings: [] });
  });

  it('warns about malformed nettests and inputs without failing', () => {
    const text = JSON.stringify({ nettests: [5, { inputs: ['https://a.example/'] }, { test_name: 'web_connectivity', inputs: 'https://b.example/' }, { test_name: 'web_connectivity', inputs: [7, ' ', 'https://c.example/ x'] }], is_expired: true });
    const { lines, warnings } = convertOoniRunDescriptor(text, 'm.json');
    expect(lines).toEqual([]);
    expect(warnings).toEqual([
      'm.json: the descriptor is marked expired (is_expired); converted all the same',
      'm.json: nettests[0]: not an object (skipped)',
      'm.json: nettests[1]: no test_name (skipped)',
      'm.json: nettests[2].inputs: not a list (skipped)',
      'm.json: nettests[3].inputs[0]: not a URL string (skipped)',
      'm.json: nettests[3].inputs[1]: not a URL string (skipped)',
      'm.json: nettests[3].inputs[2]: "https://c.example/ x" contains whitespace (skipped)',
    ]);
  });

  it('refuses unreadable JSON with FILE:LINE:COLUMN, and a descriptor without nettests', () => {
    expect(thrown(() => convertOoniRunDescriptor('{\n  "name": "x",\n  "nettests": [\n}', 'bad.json')).message).toBe('bad.json:4:1: invalid JSON: expected a value, found "}"');
    expect(thrown(() => convertOoniRunDescriptor('', 'empty.json')).message).toBe('empty.json:1:1: invalid JSON: expected a value, found the end of the file');
    expect(thrown(() => convertOoniRunDescriptor(fixture('oonirun-no-nettests.json'), 'typo.json')).message).toBe('typo.json: not an OONI Run v2 descriptor (no "nettests" list)');
    expect(thrown(() => convertOoniRunDescriptor('["https://example.com/"]', 'list.json')).message).toBe('list.json: not an OONI Run v2 descriptor (the top level must be a JSON object)');
    expect(thrown(() => convertOoniRunDescriptor('{"nettests": {"test_name": "web_connectivity"}}', 'obj.json')).message).toBe('obj.json: not an OONI Run v2 descriptor (no "nettests" list)');
  });
});
