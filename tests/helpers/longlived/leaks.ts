// Counts the sockets and timers alive in this process, so a test can check
// that a probe left none behind once its peers have closed their ends.
const WATCHED = new Set(['TCPSocketWrap', 'TLSWrap', 'Timeout']);

export function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.has(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function excess(now: Record<string, number>, baseline: Record<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, n] of Object.entries(now)) {
    if (n > (baseline[kind] ?? 0)) extra[kind] = n - (baseline[kind] ?? 0);
  }
  return extra;
}

/**
 * Handles alive beyond `baseline` once things settle: waits (bounded) for
 * the peers to close their ends, then returns the excess ({} when none).
 */
export async function leakedHandles(baseline: Record<string, number>, maxWaitMs = 3000): Promise<Record<string, number>> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const extra = excess(liveHandles(), baseline);
    if (Object.keys(extra).length === 0 || Date.now() > deadline) return extra;
    await new Promise((r) => setTimeout(r, 50));
  }
}
