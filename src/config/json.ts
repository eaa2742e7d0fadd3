// The config file's JSON reader. Why not JSON.parse: Node 20's JSON.parse
// (a) gives no position for many syntax errors ("Unexpected token '}', ...
// is not valid JSON", "Unexpected end of JSON input"), and a volunteer editing
// a file by hand needs FILE:LINE:COLUMN; (b) silently keeps the last of two
// equal keys, so `"db"` written twice would quietly drop one, the typo-class
// mistake the loader otherwise refuses; (c) cannot say "comments are not
// allowed" or "trailing comma", the two mistakes people make most. Hence a
// small strict RFC 8259 parser. It agrees with JSON.parse on every text
// except a repeated key (tests/config/fuzz.test.ts checks this).

/** A JSON syntax error at `offset` (UTF-16 units from the start of the text). */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const MAX_DEPTH = 64;

export function parseJson(text: string): unknown {
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at);
  };
  const shown = (at: number) => (at >= text.length ? 'the end of the file' : JSON.stringify(text[at]));
  const space = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) fail('comments are not allowed in JSON');
      else break;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    space();
    const c = text[i];
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const [word, result] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return result;
      }
    }
    if (c === "'") fail('strings take double quotes in JSON');
    return fail(`expected a value, found ${shown(i)}`);
  };
  const object = (depth: number): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    i++; // {
    space();
    if (text[i] === '}') {
      i++;
      return result;
    }
    for (;;) {
      space();
      if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before "}"' : `expected a key in double quotes, found ${shown(i)}`);
      const keyAt = i;
      const key = string();
      if (Object.prototype.hasOwnProperty.call(result, key)) fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      space();
      if (text[i] !== ':') fail(`expected ":" after the key, found ${shown(i)}`);
      i++;
      // defineProperty: a key named "__proto__" is data, not the prototype.
      Object.defineProperty(result, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
      space();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return result;
      }
      fail(`expected "," or "}" after a value, found ${shown(i)}`);
    }
  };
  const array = (depth: number): unknown[] => {
    const result: unknown[] = [];
    i++; // [
    space();
    if (text[i] === ']') {
      i++;
      return result;
    }
    for (;;) {
      space();
      if (text[i] === ']') fail('trailing comma before "]"');
      result.push(value(depth + 1));
      space();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return result;
      }
      fail(`expected "," or "]" after a value, found ${shown(i)}`);
    }
  };
  const string = (): string => {
    const start = i;
    i++; // "
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') fail('control character in a string (write \\n, \\t, ...)');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
        out += simple[e];
        i += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        fail(`bad escape ${JSON.stringify(text.slice(i, i + 2))} in a string`);
      }
    }
  };
  const number = (): number => {
    const start = i;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail(`bad number starting with ${JSON.stringify(text.slice(i, i + 2))}`);
    i += m[0].length;
    const next = text[i];
    if (next !== undefined && /[0-9A-Za-z.+-]/.test(next)) fail(`bad number ${JSON.stringify(text.slice(start, i + 1))}`, start);
    return Number(m[0]);
  };

  const result = value(0);
  space();
  if (i < text.length) fail(`unexpected ${shown(i)} after the JSON value`);
  return result;
}
