// The protocol every bench world process speaks with its bench over
// stdin/stdout (world-process.ts is the other side): one `world-ready {json}`
// line once it listens, `world-stats {json}` for each `stats` line read, and
// the end of stdin stops it.
import { createInterface } from 'node:readline';

export interface StdioWorld {
  stats(): unknown;
  close(): Promise<void>;
}

export async function serveWorldOverStdio(world: StdioWorld, ready: unknown): Promise<void> {
  process.stdout.write(`world-ready ${JSON.stringify(ready)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'stats') process.stdout.write(`world-stats ${JSON.stringify(world.stats())}\n`);
  });
  await new Promise<void>((resolve) => lines.once('close', resolve));
  await world.close();
}
