// The container's secure defaults, read from the Dockerfile (no Docker engine
// runs here): the final stage runs as an unprivileged user, through the
// launcher, with the database in a volume.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/rasad.js';

const lines = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const lastFrom = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0).pop()!;
const finalStage = lines.slice(lastFrom);

describe('Dockerfile', () => {
  it('is multi-stage, on a Node LTS slim base', () => {
    expect(lines.filter((l) => l.startsWith('FROM '))).toHaveLength(2);
    expect(finalStage[0]).toMatch(/^FROM node:(20|22|24)-\S*slim\b/);
  });

  it('runs the final stage as a non-root user', () => {
    const users = finalStage.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
    // Nothing after the last USER switches back.
    const lastUser = finalStage.lastIndexOf(users[users.length - 1]!);
    expect(finalStage.slice(lastUser + 1).some((l) => l.startsWith('USER '))).toBe(false);
  });

  it('keeps the data in /data and starts the daemon through the launcher', () => {
    expect(finalStage).toContain('VOLUME ["/data"]');
    expect(finalStage.some((l) => /RASAD_DB=\/data\/rasad\.db/.test(l))).toBe(true);
    expect(finalStage.some((l) => /UV_THREADPOOL_SIZE=\d+/.test(l))).toBe(true);
    expect(finalStage).toContain('ENTRYPOINT ["bin/rasad"]');
    expect(finalStage).toContain('CMD ["run"]');
  });

  it('ships the launcher with the Node flags it reads (bin/node-flags)', () => {
    // The whole bin/ directory, or the launcher and its flags file each by name.
    const copiesBin = finalStage.some((l) => /^COPY\s+(bin|bin\/)\s+\.?\/?(app\/)?bin\/?$/.test(l));
    const copiesEach = ['bin/rasad', 'bin/node-flags'].every((f) => finalStage.some((l) => l.startsWith('COPY ') && l.split(/\s+/).includes(f)));
    expect(copiesBin || copiesEach).toBe(true);
  });
});
