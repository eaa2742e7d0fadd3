// Reading the version-7 ids rasad makes (src/records/ids.ts) in tests.

export const V7_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds in an id's first 48 bits. */
export function idTimeMs(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
