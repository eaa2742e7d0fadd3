// A second process for the store's lock and migration tests:
//   open <file>     Store.open, then close; prints {ok} or {code, message}
//   migrate <file>  migrate() on a raw connection (no lock); prints {ok, applied} or {message}
//   hold <file>     Store.open and keep it open until stdin closes; prints {ok} once it holds it
// Each waits for the time in argv[4] (ms since the epoch), so that two start at once.
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';

const [mode, file, startAt] = process.argv.slice(2);
const wait = Number(startAt ?? 0) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

try {
  if (mode === 'migrate') {
    const db = new BetterSqlite3(file!);
    db.pragma('busy_timeout = 5000');
    // Two connections switching a new file to WAL at the same instant: SQLite may answer SQLITE_BUSY at once,
    // without its busy handler (the store itself never races here: Store.open holds the lock file first).
    // That is not what this child is for, so it retries; a schema error still ends it.
    const retryBusy = <T>(fn: () => T): T => {
      for (let i = 0; ; i++) {
        try {
          return fn();
        } catch (err) {
          if (!String((err as { code?: string }).code ?? '').startsWith('SQLITE_BUSY') || i >= 50) throw err;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
      }
    };
    retryBusy(() => db.pragma('journal_mode = WAL'));
    say({ ok: true, applied: retryBusy(() => migrate(db)) });
    db.close();
  } else if (mode === 'open') {
    Store.open(file!).close();
    say({ ok: true });
  } else if (mode === 'hold') {
    const store = Store.open(file!);
    say({ ok: true, pid: process.pid });
    process.stdin.resume();
    process.stdin.on('end', () => store.close());
  }
} catch (err) {
  const e = err as Error & { code?: string };
  say({ ok: false, code: e.code, message: e.message });
}
