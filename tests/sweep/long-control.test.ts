import { describe, expect, it } from 'vitest';
import { longControlHelpers } from '../../src/sweep/long-control.js';
import { OONI_TEST_HELPERS } from '../../src/config/schema.js';

describe('the long-lived control\'s helpers', () => {
  it('never sends long-lived requests to OONI\'s helpers, which have no such endpoint', () => {
    expect(longControlHelpers(OONI_TEST_HELPERS)).toEqual([]);
    expect(longControlHelpers(['https://0.th.ooni.org/', 'https://helper.example.net:8443/', 'http://127.0.0.1:9/'])).toEqual(['https://helper.example.net:8443/', 'http://127.0.0.1:9/']);
  });
});
