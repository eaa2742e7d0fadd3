// "Did you mean": the nearest known key to a misspelt one.

/** ` (did you mean "concurrency"?)` for a near miss (case, or up to two edits); else the known keys. */
export function suggestKey(key: string, known: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : ` (known keys: ${known.join(', ')})`;
}

/** Levenshtein distance; 99 for strings too different (or too long) to be a typo of each other. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
