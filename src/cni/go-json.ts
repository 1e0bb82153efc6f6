import {parseJsonNode, type JsonNode} from './json.js';

/**
 * The one Go-JSON reader: a config decoded into a declared Go type with the
 * rules of Go's encoding/json, which the reference plugins inherit (their
 * error messages are what the tests pin):
 * - an object key finds its struct field by exact name, else by the first
 *   field whose name equals it case-insensitively (Go's EqualFold: for an
 *   ASCII name also `ſ` for s and the Kelvin sign for k); unknown keys are
 *   ignored;
 * - members apply in document order, so of keys naming one field the last
 *   wins, duplicates included; a struct or map met twice is merged;
 * - null sets a pointer, slice, map or interface to nil and leaves any other
 *   field as it was;
 * - a value of the wrong JSON type is an UnmarshalTypeError naming the
 *   innermost struct and the path of field names
 *   ("json: cannot unmarshal number into Go struct field IPAM.ipam.type of
 *   type string"); decoding goes on and the earliest such error is returned,
 *   unless a type that decodes itself fails first, which ends decoding.
 */

/** Go's UnmarshalTypeError. */
export class GoTypeError extends Error {
  constructor(
    readonly value: string,
    readonly type: string,
    readonly struct = '',
    readonly field = '',
  ) {
    const where = struct !== '' || field !== '' ? `Go struct field ${struct}.${field}` : 'Go value';
    super(`json: cannot unmarshal ${value} into ${where} of type ${type}`);
    this.name = 'GoTypeError';
  }
}

/** Where decoding stands (Go's errorContext) and the earliest type error so far. */
export class DecodeState {
  saved?: GoTypeError;
  struct?: string;
  readonly fields: string[] = [];

  /** Keep the earliest type error; decoding goes on. `literal`: a number is shown as written (Go does so for numeric types). */
  mismatch<T>(node: JsonNode, type: string, prev: T, literal = false): T {
    this.saved ??= new GoTypeError(jsonKind(node, literal), type, this.struct, this.fields.join('.'));
    return prev;
  }

  /**
   * A nested decode, as a type that decodes itself runs json.Unmarshal on its
   * own bytes: its type error ends decoding, reported at the current field.
   */
  nested<T>(type: GoType<T>, node: JsonNode): T {
    const inner = new DecodeState();
    let value: T;
    try {
      value = type.decode(node, type.zero(), inner);
    } catch (err) {
      throw err instanceof GoTypeError ? this.here(err) : err;
    }
    if (inner.saved) throw this.here(inner.saved);
    return value;
  }

  /** The error as Go's outermost Unmarshal reports it: at the field being decoded. */
  private here(err: GoTypeError): GoTypeError {
    return new GoTypeError(err.value, err.type, this.struct, this.fields.join('.'));
  }
}

/** What a Go type does with a JSON value; `prev` is the field's value so far. */
export interface GoType<T> {
  /** Go's name for the type, as UnmarshalTypeError prints it: "int", "types.IPAM", "[]string". */
  readonly name: string;
  zero(): T;
  decode(node: JsonNode, prev: T, st: DecodeState): T;
}

function jsonKind(node: JsonNode, literal: boolean): string {
  if (node.kind === 'number') return literal ? `number ${node.text}` : 'number';
  return node.kind;
}

/** string, or a named string type such as main.DHCPOption. */
export function goStringType(name: string): GoType<string> {
  return {
    name,
    zero: () => '',
    decode: (node, prev, st) => (node.kind === 'string' ? node.value : node.kind === 'null' ? prev : st.mismatch(node, name, prev)),
  };
}

export const goString = goStringType('string');

export const goBool: GoType<boolean> = {
  name: 'bool',
  zero: () => false,
  decode: (node, prev, st) => (node.kind === 'bool' ? node.value : node.kind === 'null' ? prev : st.mismatch(node, 'bool', prev)),
};

const INT64 = 2n ** 63n;

/** Go's int (64-bit): a number literal without fraction or exponent, in range. */
export const goInt: GoType<number> = {
  name: 'int',
  zero: () => 0,
  decode(node, prev, st) {
    if (node.kind === 'null') return prev;
    if (node.kind !== 'number') return st.mismatch(node, 'int', prev);
    if (!/^-?\d+$/.test(node.text) || BigInt(node.text) >= INT64 || BigInt(node.text) < -INT64) return st.mismatch(node, 'int', prev, true);
    return Number(node.text);
  },
};

/** interface{}: any JSON value as plain data (an object's duplicate keys: the last wins). */
export const goAny: GoType<unknown> = {
  name: 'interface {}',
  zero: () => undefined,
  decode: (node) => plain(node),
};

function plain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      return Object.fromEntries(node.members.map(([k, v]) => [k, plain(v)]));
    case 'array':
      return node.items.map(plain);
    case 'number':
      return Number(node.text);
    case 'null':
      return null;
    default:
      return node.value;
  }
}

/** json.RawMessage: the value kept undecoded (undefined when absent or null), for a later decodeGo. */
export const goRawMessage: GoType<JsonNode | undefined> = {
  name: 'json.RawMessage',
  zero: () => undefined,
  decode: (node) => (node.kind === 'null' ? undefined : node),
};

/** *T: nil when absent or null (undefined here); a mismatch is reported with T's name, as Go reports it. */
export function goPtr<T>(elem: GoType<T>): GoType<T | undefined> {
  return {
    name: `*${elem.name}`,
    zero: () => undefined,
    decode: (node, prev, st) => (node.kind === 'null' ? undefined : elem.decode(node, prev ?? elem.zero(), st)),
  };
}

/** []T: a JSON array replaces the slice. */
export function goSlice<T>(elem: GoType<T>, name = `[]${elem.name}`): GoType<T[]> {
  return {
    name,
    zero: () => [],
    decode(node, prev, st) {
      if (node.kind === 'null') return [];
      if (node.kind !== 'array') return st.mismatch(node, name, prev);
      return node.items.map((item) => elem.decode(item, elem.zero(), st));
    },
  };
}

/** map[string]T: keys are taken as written; a second object adds to the map. */
export function goMap<T>(elem: GoType<T>, name = `map[string]${elem.name}`): GoType<Record<string, T> | undefined> {
  return {
    name,
    zero: () => undefined,
    decode(node, prev, st) {
      if (node.kind === 'null') return undefined;
      if (node.kind !== 'object') return st.mismatch(node, name, prev);
      const out: Record<string, T> = {...prev};
      for (const [key, value] of node.members) out[key] = elem.decode(value, elem.zero(), st);
      return out;
    },
  };
}

/** The TypeScript value a Go type decodes to. */
export type GoValue<G> = G extends GoType<infer T> ? T : never;

type Fields = Record<string, GoType<unknown>>;
export type StructOf<F extends Fields> = {[K in keyof F]: GoValue<F[K]>};

/**
 * A struct. `type` is Go's name for it ("main.NetConf", or an anonymous
 * struct's literal); its unqualified part names it in error messages.
 * `fields` are keyed by their JSON names, in declaration order (an embedded
 * struct's fields spread in first, as Go promotes them).
 */
export interface GoStruct<F extends Fields> extends GoType<StructOf<F>> {
  /** The fields, for a struct that embeds this one to spread in. */
  readonly fields: F;
}

export function goStruct<F extends Fields>(type: string, fields: F): GoStruct<F> {
  const structName = type.startsWith('struct {') ? '' : type.slice(type.lastIndexOf('.') + 1);
  const names = Object.keys(fields);
  const fieldFor = (key: string): string | undefined =>
    Object.prototype.hasOwnProperty.call(fields, key) ? key : names.find((n) => equalFold(n, key));
  const zero = (): StructOf<F> => Object.fromEntries(names.map((n) => [n, fields[n].zero()])) as StructOf<F>;
  return {
    name: type,
    fields,
    zero,
    decode(node, prev, st) {
      if (node.kind === 'null') return prev;
      if (node.kind !== 'object') return st.mismatch(node, type, prev);
      const out: Record<string, unknown> = {...prev};
      const outer = st.struct;
      for (const [key, value] of node.members) {
        const name = fieldFor(key);
        if (name === undefined) continue;
        st.struct = structName;
        st.fields.push(name);
        out[name] = fields[name].decode(value, out[name], st);
        st.fields.pop();
        st.struct = outer;
      }
      return out as StructOf<F>;
    },
  };
}

/**
 * Go's EqualFold of a field name (ASCII) and a key: ASCII letters match either
 * case, `ſ` (U+017F) matches s and the Kelvin sign (U+212A) matches k, anything
 * else only itself.
 */
export function equalFold(name: string, key: string): boolean {
  const chars = [...key];
  if (chars.length !== name.length) return false;
  return chars.every((c, i) => {
    const n = name[i];
    if (c === n) return true;
    const lower = n.toLowerCase();
    if (lower < 'a' || lower > 'z') return false;
    return c === lower || c === n.toUpperCase() || (lower === 's' && c === '\u017f') || (lower === 'k' && c === '\u212a');
  });
}

/** Decode a parsed document into `type`, starting from `initial` (the zero value by default); throws Go's error. */
export function decodeGo<T>(node: JsonNode, type: GoType<T>, initial: T = type.zero()): T {
  const st = new DecodeState();
  const value = type.decode(node, initial, st);
  if (st.saved) throw st.saved;
  return value;
}

/** json.Unmarshal(text, &v) where v starts as `initial`: syntax errors and type errors in Go's words. */
export function decodeGoJson<T>(text: string, type: GoType<T>, initial: T = type.zero()): T {
  return decodeGo(parseJsonNode(text), type, initial);
}

/** What Go's omitempty leaves of a struct when it prints it: no empty strings, empty lists, false, 0 or nil. */
export function omitEmpty<T extends object>(v: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, x] of Object.entries(v) as [keyof T, unknown][]) {
    if (x === undefined || x === null || x === '' || x === false || x === 0 || (Array.isArray(x) && x.length === 0)) continue;
    out[k] = x as T[keyof T];
  }
  return out;
}
