import {parseJsonGo} from '../cni/json.js';

/**
 * Reading a plugin config with the semantics of Go's encoding/json, which the
 * reference plugins inherit: keys match case-insensitively (exact match
 * preferred), null keeps the default, unknown keys are ignored, and a type
 * mismatch is an error worded like Go's.
 */
export interface ConfReader {
  raw: Record<string, unknown>;
  has(key: string): boolean;
  get(key: string): unknown;
  str(key: string, def: string): string;
  bool(key: string): boolean;
  int(key: string): number;
  list(key: string): unknown[];
  obj(key: string): ConfReader;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

export function confReader(raw: Record<string, unknown>, path: string): ConfReader {
  const lookup = (key: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(raw, key)) return raw[key];
    let found: unknown;
    for (const [k, v] of Object.entries(raw)) if (k.toLowerCase() === key.toLowerCase()) found = v;
    return found;
  };
  const mismatch = (key: string, v: unknown, goType: string): Error =>
    new Error(`json: cannot unmarshal ${jsonType(v) === 'number' ? `number ${String(v)}` : jsonType(v)} into Go struct field ${path}.${key} of type ${goType}`);
  const r: ConfReader = {
    raw,
    has: (key) => lookup(key) !== undefined && lookup(key) !== null,
    get: lookup,
    str(key, def) {
      const v = lookup(key);
      if (v === undefined || v === null) return def;
      if (typeof v !== 'string') throw mismatch(key, v, 'string');
      return v;
    },
    bool(key) {
      const v = lookup(key);
      if (v === undefined || v === null) return false;
      if (typeof v !== 'boolean') throw mismatch(key, v, 'bool');
      return v;
    },
    int(key) {
      const v = lookup(key);
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 63) throw mismatch(key, v, 'int');
      return v;
    },
    list(key) {
      const v = lookup(key);
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw mismatch(key, v, 'array');
      return v;
    },
    obj(key) {
      const v = lookup(key);
      if (v === undefined || v === null) return confReader({}, `${path}.${key}`);
      if (typeof v !== 'object' || Array.isArray(v)) throw mismatch(key, v, 'struct');
      return confReader(v as Record<string, unknown>, `${path}.${key}`);
    },
  };
  return r;
}

/** Parse stdin as a JSON object and return a reader for it. */
export function readConfObject(stdin: string, structName: string): ConfReader {
  const v: unknown = parseJsonGo(stdin);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`json: cannot unmarshal ${jsonType(v)} into Go value of type main.${structName}`);
  }
  return confReader(v as Record<string, unknown>, structName);
}
