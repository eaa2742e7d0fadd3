// Memory and CPU of a running process, read from /proc while it runs
// (Linux). VmHWM is the kernel's own peak of the resident set, so a sampler
// that reads it now and then still sees a peak that fell between two reads;
// sampling only keeps the last value seen before the process exits.
import { readFileSync } from 'node:fs';

/** A `Vm*:` field of /proc/<pid>/status in KiB, or null when the process is gone or has no such field. */
export function procStatusKiB(pid: number, field: 'VmHWM' | 'VmRSS' | 'VmPeak'): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** User + system CPU seconds of a live process, from /proc/<pid>/stat; null when it is gone. */
export function procCpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  // USER_HZ is 100 on every Linux ABI Node runs on.
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : null;
}

export interface PeakSample {
  /** The largest VmHWM read, KiB (0 when nothing could be read). */
  hwmKiB: number;
  /** How many reads succeeded. */
  samples: number;
}

/** Reads VmHWM of `pid` every `intervalMs` until stop(). */
export function samplePeakRss(pid: number, intervalMs = 100): { stop(): PeakSample } {
  const peak: PeakSample = { hwmKiB: 0, samples: 0 };
  const read = () => {
    const hwm = procStatusKiB(pid, 'VmHWM');
    if (hwm === null) return;
    peak.samples++;
    peak.hwmKiB = Math.max(peak.hwmKiB, hwm);
  };
  read();
  const timer = setInterval(read, intervalMs);
  timer.unref();
  return {
    stop() {
      read();
      clearInterval(timer);
      return { ...peak };
    },
  };
}
