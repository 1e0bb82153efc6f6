import {CniError, ErrorCode} from './errors.js';

/**
 * CNI_ARGS as the reference's LoadArgs parses it: pieces split on ';', each
 * exactly one '=', keys matched case-sensitively against `known`; unknown keys
 * fail unless IgnoreUnknown is 1/true.
 */
export function parseCniArgs(raw: string, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  const pairs: [string, string][] = [];
  for (const piece of raw.split(';')) {
    const kv = piece.split('=');
    if (kv.length !== 2) throw new CniError(ErrorCode.Internal, `ARGS: invalid pair "${piece}"`);
    pairs.push([kv[0], kv[1]]);
  }
  for (const [k, v] of pairs) {
    if (k === 'IgnoreUnknown') {
      const lv = v.toLowerCase();
      if (lv === '1' || lv === 'true') ignoreUnknown = true;
      else if (lv !== '0' && lv !== 'false') {
        throw new CniError(
          ErrorCode.Internal,
          `ARGS: error parsing value of pair "${k}=${v}": boolean unmarshal error: invalid input ${v}`,
        );
      }
    }
  }
  for (const [k, v] of pairs) {
    if (k === 'IgnoreUnknown') continue;
    if (known.includes(k)) out[k] = v;
    else unknown.push(`${k}=${v}`);
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(ErrorCode.Internal, `ARGS: unknown args [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
  }
  return out;
}
