// Preloaded into the soak bench's daemon (`node --import tsx --import
// ./bench/lib/report-memory.ts ...`): every second it writes its
// process.memoryUsage() as one JSON line over the file named by
// RASAD_BENCH_MEMORY_OUT, so the bench can tell the JS heap from the rest
// of the resident set. With RASAD_BENCH_GC_EVERY_MS (and node --expose-gc)
// it also runs a full GC that often: native memory that only a collection
// frees (closed sockets' TLS state) then shows apart from real growth.
import { writeFileSync } from 'node:fs';

const out = process.env.RASAD_BENCH_MEMORY_OUT;
if (out) {
  delete process.env.RASAD_BENCH_MEMORY_OUT;
  const write = () => {
    try {
      writeFileSync(out, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    } catch {
      // the bench reports a missing file
    }
  };
  setInterval(write, 1000).unref();
  write();
}

const gcEvery = Number(process.env.RASAD_BENCH_GC_EVERY_MS);
const gc = (globalThis as { gc?: () => void }).gc;
if (gcEvery > 0 && typeof gc === 'function') setInterval(() => gc(), gcEvery).unref();
