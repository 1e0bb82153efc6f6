import type {Runner} from '../exec/runner.js';
import {isNotFound} from './errors.js';

/**
 * The small nftables layer shared by the spoof-check and the nftables
 * masquerade: reads are `nft -j list ...` parsed as JSON, writes are one
 * `nft -f -` script on stdin (one kernel transaction: all or nothing).
 * Nothing passes through a shell; every name that goes into a script is
 * checked here first.
 */

/** One rule as `nft -j` prints it (only the fields we use). */
export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr?: unknown[];
}

export interface NftListing {
  chains: Set<string>;
  rules: NftRule[];
}

interface NftJson {
  nftables?: {chain?: {name: string}; rule?: NftRule}[];
}

/** Parse `nft -j list ...` output into chain names and rules. */
export function parseNftJson(text: string): NftListing {
  const chains = new Set<string>();
  const rules: NftRule[] = [];
  const j = JSON.parse(text) as NftJson;
  for (const o of j.nftables ?? []) {
    if (o.chain) chains.add(o.chain.name);
    if (o.rule) rules.push(o.rule);
  }
  return {chains, rules};
}

/**
 * `nft -j list <what...>` (e.g. ['table', 'bridge', 'nat']); undefined when
 * the table or chain does not exist.
 */
export async function nftList(runner: Runner, what: string[]): Promise<NftListing | undefined> {
  try {
    const {stdout} = await runner.run('nft', ['-j', 'list', ...what]);
    return parseNftJson(stdout);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Apply a script (lines) as one transaction with `nft -f -`. */
export async function nftApply(runner: Runner, lines: string[]): Promise<void> {
  await runner.run('nft', ['-f', '-'], {input: `${lines.join('\n')}\n`});
}

/** Names that may appear unquoted in a script (chain names, built from IDs and ifnames). */
const IDENT_RE = /^[A-Za-z0-9_.-]+$/;

export function checkNftName(what: string, s: string): void {
  if (!IDENT_RE.test(s))
    throw new Error(`${what} ${JSON.stringify(s)} cannot be used in an nftables name (allowed: letters, digits, "_", ".", "-")`);
}

/** A quoted nft string: nft has no escapes inside quotes, so `"` and control characters are refused. */
export function nftString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/["\u0000-\u001f\u007f]/.test(s)) throw new Error(`${JSON.stringify(s)} cannot be written as an nftables string`);
  return `"${s}"`;
}
