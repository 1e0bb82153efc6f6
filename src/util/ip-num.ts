import {createRequire} from 'node:module';
import type * as IpNum from 'ip-num';

/**
 * ip-num, loaded with require(). ip-num is CommonJS: an ESM `import {…} from
 * 'ip-num'` makes Node run cjs-module-lexer over every file it re-exports to
 * find the named exports, which costs 150–250 ms of CLI start-up here; a plain
 * require costs about a third of that. Values and types keep their names.
 */
const m = createRequire(import.meta.url)('ip-num') as typeof IpNum;

export const {IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, IPv6Prefix, Validator, collapseIPv6Number} = m;
export type IPv4 = IpNum.IPv4;
export type IPv4CidrRange = IpNum.IPv4CidrRange;
export type IPv6 = IpNum.IPv6;
export type IPv6CidrRange = IpNum.IPv6CidrRange;
export type IPv6Prefix = IpNum.IPv6Prefix;
