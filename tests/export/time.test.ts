// --since/--until are read strictly (no rollover of impossible dates, no
// local time), and OONI's time layout is exact.
import { describe, expect, it } from 'vitest';
import { ooniCompactTime, ooniTime, parseIsoInstant, toIsoUtc } from '../../src/export/time.js';

describe('parseIsoInstant', () => {
  it.each([
    ['2025-06-01', '2025-06-01T00:00:00.000Z'],
    ['2025-06-01T12:00', '2025-06-01T12:00:00.000Z'],
    ['2025-06-01T12:00:05Z', '2025-06-01T12:00:05.000Z'],
    ['2025-06-01 12:00:05.25', '2025-06-01T12:00:05.250Z'],
    ['2025-06-01T15:30:00+03:30', '2025-06-01T12:00:00.000Z'],
    ['2025-06-01T08:00:00-0400', '2025-06-01T12:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %j as %j (no zone means UTC)', (text, iso) => {
    expect(parseIsoInstant(text)).toBe(iso);
  });

  it.each(['yesterday', '2025-02-30', '2025-02-29', '2025-13-01', '2025-06-01T24:00:00Z', '2025-06-01T12:60', '2025-06-01T12:00:00+25:00', '06/01/2025', '', '2025-06-01T12:00:00ZZ'])(
    'rejects %j',
    (text) => {
      expect(parseIsoInstant(text)).toBeNull();
    },
  );
});

describe('OONI times', () => {
  it('formats UTC as "YYYY-MM-DD hh:mm:ss" and as the compact report-id stamp', () => {
    const ms = Date.parse('2025-06-01T10:00:00.500Z');
    expect(ooniTime(ms)).toBe('2025-06-01 10:00:00');
    expect(ooniCompactTime(ms)).toBe('20250601T100000Z');
  });

  it('normalises stored times to ISO-8601 UTC and passes on what is not a time', () => {
    expect(toIsoUtc('2025-06-01T13:30:00+03:30')).toBe('2025-06-01T10:00:00.000Z');
    expect(toIsoUtc('not a time')).toBe('not a time');
    expect(toIsoUtc(null)).toBeNull();
  });
});

describe('ooniTime, remembered by day and second', () => {
  const byIso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

  it('writes what toISOString writes, from one call to the next, at the edges of a second, a day and the four-digit years', () => {
    const times = [0, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 1_748_772_000_123, 253_402_300_799_999, -1, -86_400_001, 253_402_300_800_000, 0.5];
    // Interleaved, as a unit's start and its run's start alternate.
    for (let i = 0; i < 5000; i++) times.push(1_700_000_000_000 + i * 7_919_113, 1_700_000_000_000 + (i % 7) * 1000);
    for (const ms of times) expect(ooniTime(ms), String(ms)).toBe(byIso(ms));
  });

  it('still refuses a time that is not one', () => {
    expect(() => ooniTime(Number.NaN)).toThrow(RangeError);
  });
});
