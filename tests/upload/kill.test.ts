// Nothing is lost when `rasad upload` is killed with SIGKILL in the middle of
// submitting: the outbox is in SQLite, a row is marked delivered only after
// the collector accepted it, and the next run submits the rest. A submission
// whose answer the killed process never read is sent again: the collector
// sees it at least once, and dedupes by measurement id.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { defaultConfig } from '../../src/config/schema.js';
import { uploadsOfRun } from '../../src/upload/uploader.js';
import { fixtureRuns, makeFixtureDb, type FixtureDb } from '../export/helpers.js';
import { startCollector, type TestCollector } from './collector.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let fx: FixtureDb | undefined;
let collector: TestCollector | undefined;
afterEach(async () => {
  await collector?.close();
  fx?.cleanup();
});

function upload(db: string, url: string): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'upload', '--db', db, '--url', url], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RASAD_CONTROL: 'none' },
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return { child, done: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

it('a kill -9 mid-upload loses nothing: after a restart every measurement has arrived', async () => {
  fx = makeFixtureDb();
  collector = await startCollector();
  // Slow answers: the kill lands while a submission is in flight.
  collector.delayMs = 300;
  const first = upload(fx.db, collector.url);
  while (collector.submissions.length < 2) await new Promise((r) => setTimeout(r, 20));
  first.child.kill('SIGKILL');
  await first.done;
  const beforeRestart = collector.unique().size;
  expect(beforeRestart).toBeLessThan(6);

  collector.delayMs = 0;
  const second = upload(fx.db, collector.url);
  expect(await second.done).toBe(0);

  const store = Store.openReadOnly(fx.db);
  const expected = new Set(fixtureRuns().flatMap((r) => uploadsOfRun(store, defaultConfig(), r.run_id).map((u) => u.measurement_key)));
  store.close();
  expect(new Set(collector.unique().keys())).toEqual(expected);
  // At least once: at most the submission in flight at the kill came twice.
  expect(collector.submissions.length).toBeGreaterThanOrEqual(expected.size);
  expect(collector.submissions.length).toBeLessThanOrEqual(expected.size + 1);
}, 60_000);
