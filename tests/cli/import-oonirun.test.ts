// `rasad targets import-oonirun FILE.json [--out F]`: an OONI Run v2
// descriptor's web_connectivity inputs as targets.txt lines; what cannot be
// converted is a warning on stderr.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rasad } from '../helpers/rasad.js';

let dir: string;
/** Absolute paths: the CLI runs from the repository root (where tsx is found). */
const at = (name: string) => join(dir, name);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-oonirun-'));
  writeFileSync(
    join(dir, 'campaign.json'),
    JSON.stringify({
      name: 'test campaign',
      nettests: [
        { test_name: 'web_connectivity', inputs: ['https://news.example.test/', 'https://rights.example.test/'], inputs_extra: [{ category_code: 'NEWS' }, { category_code: 'HUMR' }] },
        { test_name: 'whatsapp' },
      ],
    }),
  );
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ name: 'apps only', nettests: [{ test_name: 'signal' }] }));
  writeFileSync(join(dir, 'broken.json'), '{"nettests": [');
});

describe('rasad targets import-oonirun', () => {
  it('prints the targets on stdout and the warnings on stderr', async () => {
    const r = await rasad(['targets', 'import-oonirun', at('campaign.json')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^https:\/\/news\.example\.test\/ +NEWS$/);
    expect(lines[1]).toMatch(/^https:\/\/rights\.example\.test\/ +HUMR$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.startsWith(`${at('campaign.json')}: nettests[1]`)).toBe(true);
    expect(r.stderr).toMatch(/whatsapp.*skipped/);
  });

  it('writes --out atomically, says how many targets it wrote, and the file passes `targets check`', async () => {
    const r = await rasad(['targets', 'import-oonirun', at('campaign.json'), '--out', at('campaign.txt')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`rasad targets: wrote 2 targets from ${at('campaign.json')} to ${at('campaign.txt')}\n`);
    expect(readFileSync(join(dir, 'campaign.txt'), 'utf8')).toMatch(/^https:\/\/news\.example\.test\/ +NEWS\nhttps:\/\/rights\.example\.test\/ +HUMR\n$/);
    const check = await rasad(['targets', 'check', at('campaign.txt')]);
    expect(check.code, check.stderr).toBe(0);
  });

  it('refuses, in one line with exit 2: no file, a file that is not JSON, no web input at all, --tag', async () => {
    const cases: [string[], RegExp][] = [
      [['targets', 'import-oonirun'], /^rasad targets import-oonirun: give the JSON file/],
      [['targets', 'import-oonirun', at('missing.json')], /\/missing\.json: cannot read the OONI Run descriptor \(ENOENT\)$/],
      [['targets', 'import-oonirun', at('broken.json')], /\/broken\.json:1:\d+: invalid JSON/],
      [['targets', 'import-oonirun', at('other.json'), '--out', at('never.txt')], /\/other\.json: no URL in this OONI Run descriptor could be converted to a target$/],
      [['targets', 'import-oonirun', at('campaign.json'), '--tag', 'x'], /--tag belongs to import-citizenlab/],
    ];
    for (const [args, message] of cases) {
      const r = await rasad(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n').at(-1), args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'never.txt'))).toBe(false);
  });

  it('is in the targets usage', async () => {
    const r = await rasad(['targets', '--help']);
    expect(r.stdout).toContain('rasad targets import-oonirun FILE.json [--out F]');
  });
});
