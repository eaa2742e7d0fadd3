// Bound to anything but loopback, the server needs a token on every route and
// refuses to start without one. Checked for real with a 0.0.0.0 bind inside a
// network namespace of our own (unshare -rn: only `lo` exists there), so no
// port is opened on this machine's real interfaces.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

describe('server bound beyond loopback (0.0.0.0 in a private network namespace)', () => {
  it('refuses to start without a token, and with one answers 401 on every route until it is given', () => {
    const out = execFileSync(
      'unshare',
      ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx tests/http/public-bind-child.ts', process.execPath],
      { cwd: root, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const result = JSON.parse(out) as { withoutToken: string; url: string; statuses: Record<string, Record<string, number>> };
    expect(result.withoutToken).toMatch(/http\.bind is 0\.0\.0\.0, which is not loopback: set http\.token/);
    expect(result.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    expect(Object.keys(result.statuses)).toHaveLength(9);
    for (const [route, s] of Object.entries(result.statuses)) {
      expect(s, route).toEqual({ none: 401, wrong: 401, bearer: 200, query: 200 });
    }
  });
});
