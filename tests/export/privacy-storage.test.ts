// The scrub as the store applies it (src/privacy.ts): idempotent, so a record
// scrubbed at storage and scrubbed again by the export stays the same bytes;
// and scrubbedCopy gives what the in-place scrubErrorStrings gives without
// touching its input (a sweep's measurements), sharing what it did not change.
import fc from 'fast-check';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCRUBBED, scrubbedCopy, scrubErrorStrings, scrubIps, type ScrubWalk } from '../../src/privacy.js';
import { jsonishTree } from './generated.js';

/** A deep copy that keeps what structuredClone loses: an own "__proto__" key. */
function deepCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(deepCopy);
  const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, { value: deepCopy((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const show = (v: unknown) => inspect(v, { depth: Infinity });

describe('scrubIps', () => {
  it('scrubs an address that only the first replacement uncovers', () => {
    // The IPv4 pass takes 1.2.3.4 and leaves "fe80::", an address itself.
    expect(scrubIps('via fe80::1.2.3.4.5 now')).toBe(`via ${SCRUBBED}${SCRUBBED}.5 now`);
  });

  it('is idempotent, on text made of the characters addresses are made of', () => {
    const piece = fc.oneof(
      fc.constantFrom(':', '::', '.', '%', ' ', '[', ']', 'fe80', 'ffff', 'g', '1', '25', '255', '256', '0', 'db8', ':443'),
      fc.ipV4(),
      fc.ipV6(),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const once = scrubIps(pieces.join(''));
        expect(scrubIps(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('scrubbedCopy', () => {
  it('gives what scrubErrorStrings gives, and leaves its input as it was', () => {
    fc.assert(
      fc.property(jsonishTree, (tree) => {
        const before = show(tree);
        const expected = scrubErrorStrings(deepCopy(tree));
        const copy = scrubbedCopy(tree);
        expect(show(tree)).toBe(before);
        expect(show(copy)).toBe(show(expected));
        expect(JSON.stringify(copy)).toBe(JSON.stringify(expected));
      }),
      { numRuns: 1000 },
    );
  });

  it('copies only the path to a change and returns a clean record itself', () => {
    const clean = { details: { hops: [{ failure: null, title: 'x' }] }, evidence: { message: 'no address here' } };
    expect(scrubbedCopy(clean)).toBe(clean);
    const dirty = { details: clean.details, evidence: { message: 'probe at 192.168.1.23', nested: { a: 1 } } };
    const copy = scrubbedCopy(dirty);
    expect(copy).not.toBe(dirty);
    expect(copy.details).toBe(dirty.details);
    expect(copy.evidence.nested).toBe(dirty.evidence.nested);
    expect(copy.evidence.message).toBe('probe at [scrubbed]');
    expect(dirty.evidence.message).toBe('probe at 192.168.1.23');
  });

  it('stops at the depth scrubErrorStrings stops at', () => {
    let deep: Record<string, unknown> = { error: 'at 192.0.2.1' };
    for (let i = 0; i < 70; i++) deep = { next: deep };
    expect(JSON.stringify(scrubbedCopy(deep))).toBe(JSON.stringify(scrubErrorStrings(deepCopy(deep))));
    expect(JSON.stringify(scrubbedCopy(deep))).toContain('192.0.2.1');
  });

  it.each([
    ['a Date', { at: new Date(0) }, true],
    ['a Buffer', { body: Buffer.from('x') }, true],
    ['a Map', { m: new Map() }, true],
    ['a toJSON method', { error: { toJSON: () => 'x' } }, true],
    ['a symbol', { s: Symbol('x') }, true],
    ['plain values only', { a: [1, 'b', null, { c: true }], d: Object.create(null) as object }, false],
  ])('says when the value holds %s that JSON.stringify would rewrite', (_what, value, notPlain) => {
    const walk: ScrubWalk = { notPlainJson: false };
    scrubbedCopy(value, walk);
    expect(walk.notPlainJson).toBe(notPlain);
  });
});
