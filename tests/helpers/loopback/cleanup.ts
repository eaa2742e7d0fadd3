// Loopback servers started by a test are closed after it, pass or fail.
import { afterEach } from 'vitest';

/** Registers an afterEach that closes every server handed to the returned `keep`. */
export function closeAfterEach(): <T extends { close(): Promise<void> }>(server: Promise<T>) => Promise<T> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((close) => close()));
  });
  return async (server) => {
    const s = await server;
    cleanups.push(() => s.close());
    return s;
  };
}
