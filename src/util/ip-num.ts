import {createRequire} from 'node:module';
import type * as IpNum from 'ip-num';

/**
 * ip-num, loaded with require() on first use. ip-num is CommonJS: an ESM
 * `import {…} from 'ip-num'` makes Node run cjs-module-lexer over every file
 * it re-exports to find the named exports, which costs 150–250 ms of CLI
 * start-up here; a plain require costs about a third of that, and commands
 * that never touch an address (list of cached results) do not pay it at all.
 */
let m: typeof IpNum | undefined;

export function ipNum(): typeof IpNum {
  m ??= createRequire(import.meta.url)('ip-num') as typeof IpNum;
  return m;
}

export type IPv4 = IpNum.IPv4;
export type IPv6 = IpNum.IPv6;
