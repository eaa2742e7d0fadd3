import { defineConfig } from 'vitest/config';

// Two projects: `unit` (loopback sockets; a few tests need root for a namespace
// or a tmpfs) and `lab` (the censorship lab's network
// namespaces, needs root). `npm test` runs both, the lab after the rest.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          exclude: ['tests/lab/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // rasad's default control is OONI's public helpers. Tests run on loopback in this machine's own
          // namespace: no test process, nor any CLI it spawns with this environment, may reach out to them.
          env: { RASAD_CONTROL: 'none' },
        },
      },
      {
        test: {
          name: 'lab',
          include: ['tests/lab/**/*.test.ts'],
          // After the unit project, never beside it: its timings (cuts, rates) must not share the CPU with benches.
          sequence: { groupOrder: 1 },
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // The lab is one set of namespaces: its files must not run at once.
          fileParallelism: false,
        },
      },
    ],
  },
});
