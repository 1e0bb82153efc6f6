/**
 * JSON printed the way Go's encoding/json prints it, so our stdout is
 * byte-identical to the reference plugins':
 * - `<`, `>`, `&`, U+2028 and U+2029 are escaped as \u003c, \u003e, \u0026, …;
 * - control characters other than \n, \r, \t are \u00XX (Go ≤ 1.21 style);
 * - indented output uses a 4-space indent and has no trailing newline;
 * - object keys keep insertion order; `undefined` members are omitted.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | {[key: string]: JsonValue | undefined};

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd'; // lone surrogate: Go writes the replacement character
    } else out += ch;
  }
  return `${out}"`;
}

function encode(v: unknown, indent: string, level: number): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`json: unsupported value: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const nl = indent ? `\n${indent.repeat(level + 1)}` : '';
  const end = indent ? `\n${indent.repeat(level)}` : '';
  const colon = indent ? ': ' : ':';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${v.map((x) => nl + encode(x, indent, level + 1)).join(',')}${end}]`;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{${entries.map(([k, x]) => nl + quote(k) + colon + encode(x, indent, level + 1)).join(',')}${end}}`;
  }
  throw new Error(`json: unsupported type: ${typeof v}`);
}

/** json.MarshalIndent(v, "", "    "): pretty, no trailing newline. */
export function goMarshalIndent(v: unknown): string {
  return encode(v, '    ', 0);
}

/** json.Marshal(v): compact, no trailing newline. */
export function goMarshal(v: unknown): string {
  return encode(v, '', 0);
}

/** A deep copy with object keys sorted, as Go prints a map[string]interface{}. */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * JSON.parse with Go-like error text for the common cases (the text after
 * "error unmarshall network config: " in the reference's code-6 errors).
 */
export function parseJsonGo(text: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(goJsonErrorText(text, err));
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) throw new Error('exceeded max depth');
  return v;
}

/**
 * Deepest array/object nesting we accept. Go's decoder stops at 10000; ours is
 * lower because the encoders above recurse (and no real config nests beyond a
 * handful of levels).
 */
export const MAX_JSON_DEPTH = 1000;

/** The deepest `[`/`{` nesting of valid JSON text, outside strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function goJsonErrorText(text: string, err: unknown): string {
  const m = /position (\d+)/.exec(String((err as Error)?.message ?? err));
  if (text.trim() === '' || !m || Number(m[1]) >= text.length) return 'unexpected end of JSON input';
  const pos = Number(m[1]);
  const ch = text[pos];
  const shown = ch === "'" ? "'\\''" : `'${goQuoteChar(ch)}'`;
  const before = text.slice(0, pos).trimEnd();
  const prev = before[before.length - 1];
  if (prev === '{' || (prev === ',' && /^\s*\{|\{[^[\]]*$/.test(before)))
    return `invalid character ${shown} looking for beginning of object key string`;
  if (prev === '"' && /"[^"]*"\s*$/.test(before) && !/:\s*"[^"]*"\s*$/.test(before)) return `invalid character ${shown} after object key`;
  if (before === '' || prev === ':' || prev === '[' || prev === ',') return `invalid character ${shown} looking for beginning of value`;
  return `invalid character ${shown} after top-level value`;
}

/** A character as Go's strconv.Quote shows it inside the quotes: control characters escaped, so messages stay one line. */
function goQuoteChar(ch: string): string {
  const named: Record<string, string> = {'\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v'};
  const c = ch.charCodeAt(0);
  if (named[ch]) return named[ch];
  if (c < 0x20 || c === 0x7f) return `\\x${c.toString(16).padStart(2, '0')}`;
  if (c === 0x2028 || c === 0x2029 || c === 0x85 || (c >= 0xd800 && c <= 0xdfff)) return `\\u${c.toString(16).padStart(4, '0')}`;
  return ch;
}

/** A JSON value as Go's decoder walks it: members in document order, duplicate keys kept, numbers as written. */
export type JsonNode =
  | {kind: 'object'; members: [string, JsonNode][]}
  | {kind: 'array'; items: JsonNode[]}
  | {kind: 'string'; value: string}
  | {kind: 'number'; text: string}
  | {kind: 'bool'; value: boolean}
  | {kind: 'null'};

/** Parse a document as Go's decoder sees it; syntax errors read as Go's (parseJsonGo). */
export function parseJsonNode(text: string): JsonNode {
  parseJsonGo(text);
  let i = 0;
  const space = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const string = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): JsonNode => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      const members: [string, JsonNode][] = [];
      const items: JsonNode[] = [];
      space();
      if (text[i] === (c === '{' ? '}' : ']')) i++;
      else {
        for (;;) {
          space();
          if (c === '{') {
            const key = string();
            space();
            i++; // ':'
            members.push([key, value()]);
          } else items.push(value());
          space();
          if (text[i++] !== ',') break;
        }
      }
      return c === '{' ? {kind: 'object', members} : {kind: 'array', items};
    }
    if (c === '"') return {kind: 'string', value: string()};
    if (c === 't' || c === 'f') {
      i += c === 't' ? 4 : 5;
      return {kind: 'bool', value: c === 't'};
    }
    if (c === 'n') {
      i += 4;
      return {kind: 'null'};
    }
    NUMBER.lastIndex = i;
    const literal = NUMBER.exec(text)![0];
    i += literal.length;
    return {kind: 'number', text: literal};
  };
  return value();
}
