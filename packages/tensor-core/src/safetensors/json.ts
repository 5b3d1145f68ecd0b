// A small strict JSON parser for safetensors headers. Unlike JSON.parse it reports duplicate object keys
// (the reference reader rejects them; JSON.parse silently keeps the last), bounds nesting depth so hostile
// input cannot overflow the stack, and creates prototype-free objects so keys like "__proto__" are plain data.

/** A JSON syntax problem at a character position. */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  readonly position: number;
  readonly duplicateKey: string | undefined;
  constructor(message: string, position: number, duplicateKey?: string) {
    super(`${message} at character ${position}`);
    this.position = position;
    this.duplicateKey = duplicateKey;
  }
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 64;

/** Parses `text` as one JSON value (surrounding whitespace allowed). */
export function parseJsonStrict(text: string): JsonValue {
  let pos = 0;
  const len = text.length;

  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg, pos);
  };

  const skipWs = (): void => {
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    // pos is at the opening quote.
    pos++;
    let out = "";
    let start = pos;
    while (true) {
      if (pos >= len) fail("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      pos++;
      if (pos >= len) fail("unterminated escape");
      const e = text.charCodeAt(pos);
      pos++;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += "\\";
          break;
        case 0x2f:
          out += "/";
          break;
        case 0x62:
          out += "\b";
          break;
        case 0x66:
          out += "\f";
          break;
        case 0x6e:
          out += "\n";
          break;
        case 0x72:
          out += "\r";
          break;
        case 0x74:
          out += "\t";
          break;
        case 0x75: {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          pos--;
          fail("bad escape");
      }
      start = pos;
    }
  };

  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const parseNumber = (): number => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null || m[0].length === 0) fail("bad number");
    pos += (m as RegExpExecArray)[0].length;
    return Number((m as RegExpExecArray)[0]);
  };

  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail("unexpected token");
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    if (pos >= len) fail("unexpected end of input");
    const c = text.charCodeAt(pos);
    if (c === 0x7b) {
      pos++;
      const obj: { [key: string]: JsonValue } = Object.create(null);
      skipWs();
      if (text.charCodeAt(pos) === 0x7d) {
        pos++;
        return obj;
      }
      while (true) {
        skipWs();
        if (text.charCodeAt(pos) !== 0x22) fail("expected a string key");
        const keyPos = pos;
        const key = parseString();
        if (Object.hasOwn(obj, key))
          throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyPos, key);
        skipWs();
        if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'");
        pos++;
        obj[key] = parseValue(depth + 1);
        skipWs();
        const d = text.charCodeAt(pos);
        if (d === 0x2c) {
          pos++;
          continue;
        }
        if (d === 0x7d) {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === 0x5b) {
      pos++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text.charCodeAt(pos) === 0x5d) {
        pos++;
        return arr;
      }
      while (true) {
        arr.push(parseValue(depth + 1));
        skipWs();
        const d = text.charCodeAt(pos);
        if (d === 0x2c) {
          pos++;
          continue;
        }
        if (d === 0x5d) {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === 0x22) return parseString();
    if (c === 0x74) return literal("true", true);
    if (c === 0x66) return literal("false", false);
    if (c === 0x6e) return literal("null", null);
    return parseNumber();
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== len) fail("trailing characters after the JSON value");
  return value;
}
