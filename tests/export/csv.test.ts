// RFC 4180 output, read back by csv-parse: quoting, doubled quotes, CRLF,
// and any text at all (commas, quotes, newlines, Persian) survives the trip.
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvField, csvRecord, csvRow } from '../../src/export/csv.js';

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\rhere', '"cr\rhere"'],
    ['آپارات - سرویس اشتراک ویدیو', 'آپارات - سرویس اشتراک ویدیو'],
    ['', ''],
  ])('writes %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('writes null as an empty field, numbers as numbers, objects as JSON', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(1004.7)).toBe('1004.7');
    expect(csvField(false)).toBe('false');
    expect(csvField({ a: [1, 'x,y'] })).toBe('"{""a"":[1,""x,y""]}"');
  });
});

describe('csvRow', () => {
  it('ends every record with CRLF', () => {
    expect(csvRow(['a', 'b'])).toBe('a,b\r\n');
    expect(csvRecord(['x', 'y'], { y: 2, x: 'one', z: 'left out' })).toBe('one,2\r\n');
  });

  it('round-trips any strings through csv-parse', () => {
    const field = fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('a,b', '"', '\r\n', '\n', 'صفحه "مسدود", است\n'));
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const width = rows[0]!.length;
        const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
        const text = table.map((r) => csvRow(r)).join('');
        const back = parse(text, { relax_column_count: false }) as string[][];
        expect(back).toEqual(table);
      }),
    );
  });
});
