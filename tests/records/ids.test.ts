// Measurement and run ids are version-7 UUIDs: time first, so that the
// store's index on them grows at its end (src/records/ids.ts).
import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/records/ids.js';
import { idTimeMs as timeOf, V7_ID as V7 } from '../helpers/ids.js';

describe('timeOrderedId', () => {
  it('puts the time in the first 48 bits and keeps the random bits and variant of the version-4 UUID it is given', () => {
    expect(timeOrderedId(0x0123456789ab, '00000000-0000-4abc-9def-0123456789ab')).toBe('01234567-89ab-7abc-9def-0123456789ab');
    const now = Date.now();
    const id = timeOrderedId();
    expect(id).toMatch(V7);
    expect(Math.abs(timeOf(id) - now)).toBeLessThan(60_000);
  });

  it('sorts as text in the order of its times, across every digit of the time', () => {
    const times = [0, 1, 15, 16, 255, 4096, 2 ** 40, 1_700_000_000_000, 1_700_000_000_001, 1_764_633_600_000, 2 ** 47 + 3];
    const ids = times.map((t) => timeOrderedId(t));
    for (const id of ids) expect(id).toMatch(V7);
    expect([...ids].reverse().sort()).toEqual(ids);
    expect(ids.map(timeOf)).toEqual(times);
  });

  it('gives distinct ids within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId(1_764_633_600_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBe(1);
  });

  it('holds a clock that is not a time to the 48 bits there are', () => {
    expect(timeOf(timeOrderedId(-5))).toBe(0);
    expect(timeOf(timeOrderedId(Number.NaN))).toBe(0);
    expect(timeOf(timeOrderedId(2 ** 60))).toBe(2 ** 48 - 1);
    expect(timeOrderedId(2 ** 60)).toMatch(V7);
  });
});
