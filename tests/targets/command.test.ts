// `rasad targets check` and `rasad targets import-citizenlab`, driven through
// the Command interface with captured streams.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError, type CommandIo } from '../../src/cli/command.js';
import { targetsCommand } from '../../src/cli/commands/targets.js';

const fixtures = fileURLToPath(new URL('../fixtures/citizenlab/', import.meta.url));
const targetFixtures = fileURLToPath(new URL('../fixtures/targets/', import.meta.url));

function harness(env: NodeJS.ProcessEnv = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'rasad-targets-cmd-'));
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    stdout: { write: (s: string) => (out.push(s), true) } as unknown as CommandIo['stdout'],
    stderr: { write: (s: string) => (err.push(s), true) } as unknown as CommandIo['stderr'],
    env,
    cwd,
  };
  return { cwd, io, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function usageError(run: Promise<number>): Promise<string> {
  try {
    await run;
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('rasad targets import-citizenlab', () => {
  it('prints the targets file on stdout, with the tags asked for', async () => {
    const h = harness();
    copyFileSync(join(fixtures, 'sample.csv'), join(h.cwd, 'ir.csv'));
    expect(await targetsCommand.run(['import-citizenlab', 'ir.csv', '--tag', 'domestic'], h.io)).toBe(0);
    const lines = h.stdout().split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('https://www.bbc.com/persian/ NEWS domestic');
    expect(h.stderr()).toBe('');
  });

  it('writes --out, which `check` then accepts and summarises', async () => {
    const h = harness();
    copyFileSync(join(fixtures, 'sample.csv'), join(h.cwd, 'ir.csv'));
    expect(await targetsCommand.run(['import-citizenlab', 'ir.csv', '--out', 'imported.txt', '--tag', 'a,b'], h.io)).toBe(0);
    expect(h.stdout()).toBe('');
    expect(h.stderr()).toBe('rasad targets: wrote 6 targets from ir.csv to imported.txt\n');
    expect(readFileSync(join(h.cwd, 'imported.txt'), 'utf8')).toMatch(/^https:\/\/twitter\.com\/ +GRP a b$/m);
    expect(await targetsCommand.run(['check', 'imported.txt'], h.io)).toBe(0);
    expect(h.stdout()).toBe(
      'imported.txt: 6 targets, 6 inputs (https 5, http 1)\n' + 'categories: GRP 2, NEWS 2, ANON 1, MMED 1\n' + 'tags: a 6, b 6\n',
    );
  });

  it('--out on a character device or a FIFO writes it in place, and leaves no temporary file (src/output-file.ts)', async () => {
    if (process.getuid?.() !== 0) throw new Error('mknod needs root (CI runs as root)');
    const h = harness();
    copyFileSync(join(fixtures, 'sample.csv'), join(h.cwd, 'ir.csv'));
    // A null device of the test's own: the real /dev is never touched. Renaming over it made it a regular file.
    const nul = join(h.cwd, 'null');
    execFileSync('mknod', ['-m', '666', nul, 'c', '1', '3']);
    expect(await targetsCommand.run(['import-citizenlab', 'ir.csv', '--out', 'null'], h.io)).toBe(0);
    expect(lstatSync(nul).isCharacterDevice()).toBe(true);
    const fifo = join(h.cwd, 'list.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = execFile('timeout', ['20', 'cat', fifo]);
    let read = '';
    reader.stdout!.on('data', (d: Buffer) => (read += d.toString()));
    const closed = new Promise((resolve) => reader.on('close', resolve));
    expect(await targetsCommand.run(['import-citizenlab', 'ir.csv', '--out', 'list.fifo'], h.io)).toBe(0);
    await closed;
    expect(read.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toHaveLength(6);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(h.cwd).sort()).toEqual(['ir.csv', 'list.fifo', 'null']);
    execFileSync('mknod', [join(h.cwd, 'disk'), 'b', '7', '201']);
    expect(await usageError(targetsCommand.run(['import-citizenlab', 'ir.csv', '--out', 'disk'], h.io))).toMatch(/^disk: is a block device/);
  });

  it('skips each bad row with a warning on stderr naming its line, and writes the good ones', async () => {
    const h = harness();
    copyFileSync(join(fixtures, 'bad.csv'), join(h.cwd, 'bad.csv'));
    expect(await targetsCommand.run(['import-citizenlab', 'bad.csv', '--out', 'kept.txt'], h.io)).toBe(0);
    const stderr = h.stderr().trimEnd().split('\n');
    expect(stderr.slice(0, -1).map((l) => l.slice(0, l.indexOf(': ')))).toEqual(['3', '4', '5', '6', '7', '8', '9', '11', '12'].map((n) => `bad.csv:${n}`));
    expect(stderr.slice(0, -1).every((l) => l.endsWith('(row skipped)'))).toBe(true);
    expect(stderr.at(-1)).toBe('rasad targets: wrote 2 targets from bad.csv to kept.txt');
    expect(await targetsCommand.run(['check', 'kept.txt'], h.io)).toBe(0);
  });

  it('imports hashbang URLs and trailing-dot hosts that once failed the whole list', async () => {
    const h = harness();
    copyFileSync(join(fixtures, 'fragments.csv'), join(h.cwd, 'fragments.csv'));
    expect(await targetsCommand.run(['import-citizenlab', 'fragments.csv', '--out', 'f.txt'], h.io)).toBe(0);
    expect(await targetsCommand.run(['check', 'f.txt'], h.io)).toBe(0);
    expect(h.stdout()).toMatch(/^f\.txt: 5 targets, 5 inputs/);
  });

  it('refuses a missing file, a missing argument and a bad tag', async () => {
    const h = harness();
    expect(await usageError(targetsCommand.run(['import-citizenlab', 'nope.csv'], h.io))).toBe('nope.csv: cannot read the CSV file (ENOENT)');
    expect(await usageError(targetsCommand.run(['import-citizenlab'], h.io))).toMatch(/^rasad targets import-citizenlab: give the CSV file/);
    copyFileSync(join(fixtures, 'sample.csv'), join(h.cwd, 'ir.csv'));
    expect(await usageError(targetsCommand.run(['import-citizenlab', 'ir.csv', '--tag', 'Domestic'], h.io))).toMatch(/^--tag: "Domestic" is not a tag/);
  });
});

describe('rasad targets import-oonirun', () => {
  it('writes the web_connectivity inputs, says on stderr what it left out, and `check` accepts the result', async () => {
    const h = harness();
    copyFileSync(join(targetFixtures, 'oonirun-campaign.json'), join(h.cwd, 'campaign.json'));
    expect(await targetsCommand.run(['import-oonirun', 'campaign.json', '--out', 'campaign.txt'], h.io)).toBe(0);
    expect(h.stderr()).toMatch(/^campaign\.json: nettests\[0\]\.inputs\[3\]: unknown scheme "ftp"/);
    expect(h.stderr()).toMatch(/campaign\.json: nettests\[1\] \("whatsapp"\): only web_connectivity inputs become targets \(skipped\)\n/);
    expect(h.stderr()).toMatch(/rasad targets: wrote 5 targets from campaign\.json to campaign\.txt\n$/);
    expect(readFileSync(join(h.cwd, 'campaign.txt'), 'utf8')).toMatch(/^http:\/\/twitter\.com\/#!\/radiofarda +GRP$/m);
    expect(await targetsCommand.run(['check', 'campaign.txt'], h.io)).toBe(0);
  });

  it('refuses a descriptor without nettests, in one line', async () => {
    const h = harness();
    copyFileSync(join(targetFixtures, 'oonirun-no-nettests.json'), join(h.cwd, 'typo.json'));
    expect(await usageError(targetsCommand.run(['import-oonirun', 'typo.json'], h.io))).toBe('typo.json: not an OONI Run v2 descriptor (no "nettests" list)');
  });
});

describe('rasad targets check', () => {
  it('refuses a million-line list in one line naming the file', async () => {
    const h = harness();
    writeFileSync(join(h.cwd, 'huge.txt'), Array.from({ length: 1_000_000 }, (_, i) => `http://t${i}.example.org/ NEWS`).join('\n'));
    const message = await usageError(targetsCommand.run(['check', 'huge.txt'], h.io));
    // Refused as too large (read through readTargetsFile) or at the first target over the cap; never held whole.
    expect(message).toMatch(/^huge\.txt(:\d+)?: (the (targets )?file (is larger than|goes over) .*5 MiB|more than 50000 targets, the limit of a targets list)/);
  });

  it('names the first bad line and counts the others', async () => {
    const h = harness();
    writeFileSync(join(h.cwd, 'list.txt'), 'facebook.com GRP\nfacebook.com\nx.com LOL\n');
    const message = await usageError(targetsCommand.run(['check', 'list.txt'], h.io));
    expect(message).toBe('list.txt:2: duplicate input "http://facebook.com/" (already on line 1) (and 1 more bad line)');
    expect(h.stderr()).toMatch(/^list\.txt:2: .*\nlist\.txt:3: unknown category code "LOL"/);
  });

  it('reads ./targets.txt by default, and $RASAD_TARGETS when set', async () => {
    const h = harness({ RASAD_TARGETS: 'other.txt' });
    writeFileSync(join(h.cwd, 'other.txt'), 'www.aparat.com MMED domestic\ntcp://192.0.2.1:443 ANON circumvention\n');
    expect(await targetsCommand.run(['check'], h.io)).toBe(0);
    expect(h.stdout()).toBe('other.txt: 2 targets, 3 inputs (http 1, https 1, tcp 1)\ncategories: ANON 1, MMED 1\ntags: circumvention 1, domestic 1\n');

    const local = harness();
    writeFileSync(join(local.cwd, 'targets.txt'), 'divar.ir COMM domestic\n');
    expect(await targetsCommand.run(['check'], local.io)).toBe(0);
    expect(local.stdout()).toMatch(/^targets\.txt: 1 target, 2 inputs/);
  });

  it('falls back to the bundled list when there is no ./targets.txt', async () => {
    const h = harness();
    expect(await targetsCommand.run(['check'], h.io)).toBe(0);
    expect(h.stdout()).toMatch(/targets\.txt: \d+ targets, \d+ inputs/);
    expect(h.stdout()).toMatch(/tags: .*domestic \d+/);
  });

  it('refuses an empty list, a stray flag, an unknown subcommand; --help prints the usage', async () => {
    const h = harness();
    writeFileSync(join(h.cwd, 'empty.txt'), '# nothing\n');
    expect(await usageError(targetsCommand.run(['check', 'empty.txt'], h.io))).toBe('empty.txt: no targets (every line is blank or a comment)');
    expect(await usageError(targetsCommand.run(['check', 'empty.txt', '--out', 'x'], h.io))).toMatch(/--out and --tag belong to import-citizenlab/);
    expect(await usageError(targetsCommand.run(['frobnicate'], h.io))).toBe('rasad targets: unknown subcommand "frobnicate" (check, import-citizenlab, import-oonirun)');
    expect(await usageError(targetsCommand.run([], h.io))).toBe('rasad targets: give a subcommand: check, import-citizenlab or import-oonirun');
    expect(await usageError(targetsCommand.run(['check', '--bogus'], h.io))).toMatch(/^rasad targets: Unknown option '--bogus'/);
    expect(await targetsCommand.run(['--help'], h.io)).toBe(0);
    expect(h.stdout()).toBe(targetsCommand.usage);
  });
});
