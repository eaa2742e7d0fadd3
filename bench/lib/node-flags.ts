// The Node flags rasad ships with: bin/node-flags, which bin/rasad (and so
// `npm start` and the Docker image) passes to node. The benches start rasad
// from source with tsx, so they pass the same flags to measure the daemon
// as it ships, and `none` to measure what they cost.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NODE_FLAGS_FILE = fileURLToPath(new URL('../../bin/node-flags', import.meta.url));

/** Parses node-flags text as bin/rasad does: `#` to the end of a line is a comment, the rest splits on whitespace. */
export function parseNodeFlags(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .split(/\s+/)
    .filter((flag) => flag !== '');
}

/** The flags of bin/node-flags. */
export function shippedNodeFlags(): string[] {
  return parseNodeFlags(readFileSync(NODE_FLAGS_FILE, 'utf8'));
}

/** A bench's `--node-flags` choice: `shipped` (bin/node-flags) or `none` (Node's defaults). */
export type NodeFlagsChoice = 'shipped' | 'none';

export function nodeFlagsOf(choice: NodeFlagsChoice): string[] {
  return choice === 'shipped' ? shippedNodeFlags() : [];
}
