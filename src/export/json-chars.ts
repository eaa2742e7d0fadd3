// The character codes the export's JSON scanners look for (raw-record.ts
// reads stored text, csv-bytes.ts its UTF-8 bytes): one table for both.
export const QUOTE = 34;
export const BACKSLASH = 92;
export const OPEN_BRACE = 123;
export const CLOSE_BRACE = 125;
export const OPEN_BRACKET = 91;
export const CLOSE_BRACKET = 93;
export const COLON = 58;
export const COMMA = 44;
export const UNDERSCORE = 95;
export const CR = 13;
export const LF = 10;
export const ZERO = 48;
