// Preloaded into a measured process (`node --import tsx --import
// ./bench/lib/report-usage.ts ...`): when it exits, it writes its own CPU
// time and peak RSS to the file named by RASAD_BENCH_USAGE_OUT. A parent
// cannot get a child's rusage from Node, and /proc/<pid> is gone by the time
// the parent hears of the exit; this is exact and includes the startup.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface ProcessUsage {
  /** CPU seconds in user and kernel mode, over the whole life of the process. */
  user_s: number;
  system_s: number;
  /** ru_maxrss: the peak resident set, KiB. */
  max_rss_kib: number;
  /** Wall seconds from the process's start (performance.timeOrigin) to its exit. */
  uptime_s: number;
  exit_code: number;
}

const out = process.env.RASAD_BENCH_USAGE_OUT;
if (out) {
  // Not for grandchildren: they would overwrite the file.
  delete process.env.RASAD_BENCH_USAGE_OUT;
  process.once('exit', (code) => {
    const usage = process.resourceUsage();
    const report: ProcessUsage = {
      user_s: usage.userCPUTime / 1e6,
      system_s: usage.systemCPUTime / 1e6,
      max_rss_kib: usage.maxRSS,
      uptime_s: performance.now() / 1000,
      exit_code: code,
    };
    try {
      writeFileSync(out, JSON.stringify(report));
    } catch {
      // The parent reports the missing file; the measured process must exit as it would have.
    }
  });
}
