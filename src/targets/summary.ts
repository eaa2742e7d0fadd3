// A short account of a parsed targets list, for `rasad targets check`.
import type { Target } from '../../probes/types.js';

export interface TargetsSummary {
  targets: number;
  inputs: number;
  /** Inputs by scheme: http, https, tcp. */
  schemes: Record<string, number>;
  categories: Record<string, number>;
  tags: Record<string, number>;
}

export function summarizeTargets(targets: readonly Target[]): TargetsSummary {
  const summary: TargetsSummary = { targets: targets.length, inputs: 0, schemes: {}, categories: {}, tags: {} };
  for (const target of targets) {
    count(summary.categories, target.category);
    for (const tag of target.tags) count(summary.tags, tag);
    for (const input of target.inputs) {
      summary.inputs++;
      count(summary.schemes, input.slice(0, input.indexOf(':')));
    }
  }
  return summary;
}

export function formatSummary(file: string, summary: TargetsSummary): string {
  const lines = [
    `${file}: ${plural(summary.targets, 'target')}, ${plural(summary.inputs, 'input')} (${counts(summary.schemes) || 'none'})`,
    `categories: ${counts(summary.categories) || 'none'}`,
    `tags: ${counts(summary.tags) || 'none'}`,
  ];
  return lines.join('\n') + '\n';
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

/** "GRP 9, NEWS 7": most frequent first, then by name. */
function counts(table: Record<string, number>): string {
  return Object.entries(table)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
