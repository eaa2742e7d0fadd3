import { defineConfig } from 'vitest/config';

// Two projects: `unit` (loopback sockets, no privileges) and `lab` (network
// namespaces, needs root). `npm test` runs both.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/lab/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['tests/lab/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // The lab is one set of namespaces: its files must not run at once.
          fileParallelism: false,
        },
      },
    ],
  },
});
