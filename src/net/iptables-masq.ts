import {createHash} from 'node:crypto';
import type {Runner} from '../exec/runner.js';
import {familyOf, networkString, normalizeIp, parseAddr, parseCidrAsWritten, type Family} from '../util/ip.js';
import {iptablesTool as tool, readNatTable, restoreApplied, restoreNoflush, type RuleTable} from './iptables.js';

/**
 * The bridge's IP-masquerade rules (reference pkg/ip/ipmasq_linux.go), written
 * with one `iptables-restore --noflush -w` input per family (concurrent
 * inputs share a process, see iptables.ts): directly when the usual
 * case holds (a new chain on ADD, every jump in place on DEL), else after one
 * `iptables-save` read. The saved rules are byte-identical to what go-iptables
 * produces:
 *
 *   :CNI-<hash> - [0:0]
 *   -A POSTROUTING -s <ip>/32 -m comment --comment "name: \"<net>\" id: \"<cid>\"" -j CNI-<hash>
 *   -A CNI-<hash> -d <network>/<prefix> -m comment --comment "..." -j ACCEPT
 *   -A CNI-<hash> ! -d 224.0.0.0/4 -m comment --comment "..." -j MASQUERADE
 */

/** `CNI-` + the first 24 hex characters of sha512(name + containerId). */
export function masqChainName(network: string, containerId: string): string {
  return `CNI-${createHash('sha512')
    .update(network + containerId)
    .digest('hex')
    .slice(0, 24)}`;
}

/** Go's %q for the strings we meet (network names and container IDs). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `name: "<net>" id: "<cid>"`, as the reference's FormatComment. */
export function masqComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`;
}

/** How iptables-save prints (and iptables-restore reads) a comment argument. */
function saveQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const hostBits = (f: Family): number => (f === 4 ? 32 : 128);
const familyOfIp = (ip: string): Family | undefined => {
  const a = parseAddr(ip);
  return a && familyOf(a);
};
const familyOfCidr = (cidr: string): Family | undefined => {
  const c = parseCidrAsWritten(cidr);
  return c && familyOf(c.ip);
};
const multicastNet = (f: Family): string => (f === 4 ? '224.0.0.0/4' : 'ff00::/8');

export interface MasqTarget {
  chain: string;
  comment: string;
}

/** The three save-format lines SetupIPMasq appends for one address ("10.1.2.3/24"). */
export function masqRuleLines(t: MasqTarget, address: string): {family: Family; lines: string[]} {
  const c = parseCidrAsWritten(address);
  if (!c) throw new Error(`invalid address ${address}`);
  const f = familyOf(c.ip);
  const q = saveQuote(t.comment);
  return {
    family: f,
    lines: [
      `-A ${t.chain} -d ${networkString(c)} -m comment --comment ${q} -j ACCEPT`,
      `-A ${t.chain} ! -d ${multicastNet(f)} -m comment --comment ${q} -j MASQUERADE`,
      `-A POSTROUTING -s ${normalizeIp(address.split('/')[0])}/${hostBits(f)} -m comment --comment ${q} -j ${t.chain}`,
    ],
  };
}

/** iptables-restore input that makes `addresses` (one family) masqueraded; undefined when all exist. */
export function planSetup(t: MasqTarget, table: RuleTable, addresses: string[]): string | undefined {
  const have = new Set(table.rules);
  const out: string[] = [];
  if (!table.chains.has(t.chain)) out.push(`:${t.chain} - [0:0]`);
  for (const a of addresses) {
    for (const line of masqRuleLines(t, a).lines) {
      if (have.has(line)) continue;
      have.add(line);
      out.push(line);
    }
  }
  return out.length === 0 ? undefined : ['*nat', ...out, 'COMMIT', ''].join('\n');
}

/** Which POSTROUTING jumps of this attachment a teardown removes. */
export type JumpSelector =
  | {kind: 'all'}
  /** Jumps whose source IP is one of these. */
  | {kind: 'ips'; ips: string[]}
  /** Jumps whose source IP is not one of these (still configured elsewhere). */
  | {kind: 'except'; ips: string[]};

const sourceIp = (line: string): string | undefined => {
  const m = / -s ([^ ]+?)(?:\/\d+)? /.exec(line);
  return m ? normalizeIp(m[1]) : undefined;
};

/**
 * iptables-restore input removing the selected jumps, and the chain itself once
 * nothing jumps to it any more; undefined when there is nothing to do. Missing
 * rules and chains are simply not there to remove.
 */
export function planTeardown(t: MasqTarget, table: RuleTable, sel: JumpSelector): string | undefined {
  const q = saveQuote(t.comment);
  const jumpsTo = (l: string): boolean => l.endsWith(` -j ${t.chain}`) || l.endsWith(` -g ${t.chain}`);
  const ours = table.rules.filter((l) => l.startsWith('-A POSTROUTING ') && jumpsTo(l) && l.includes(`--comment ${q}`));
  const wanted = sel.kind === 'all' ? undefined : new Set(sel.ips.map(normalizeIp));
  const remove = ours.filter((l) => {
    if (!wanted) return true;
    const ip = sourceIp(l);
    return sel.kind === 'ips' ? ip !== undefined && wanted.has(ip) : ip === undefined || !wanted.has(ip);
  });
  const removed = new Set(remove);
  const stillReferenced = table.rules.some((l) => jumpsTo(l) && !removed.has(l));
  const out = remove.map((l) => `-D ${l.slice(3)}`);
  if (table.chains.has(t.chain) && !stillReferenced) out.push(`-F ${t.chain}`, `-X ${t.chain}`);
  return out.length === 0 ? undefined : ['*nat', ...out, 'COMMIT', ''].join('\n');
}

async function restore(runner: Runner, f: Family, input: string): Promise<void> {
  await restoreNoflush(runner, tool(f, 'restore'), input);
}

/**
 * Restore input for the usual first setup, needing no read: the chain made
 * with `-N`, which fails when it exists (another ifname of the container on
 * this network, a repeated ADD) and so rolls the whole transaction back,
 * where a `:CHAIN` declaration under --noflush would flush it.
 */
export function planFreshSetup(t: MasqTarget, addresses: string[]): string {
  return planSetup(t, {chains: new Set(), rules: []}, addresses)!.replace(`\n:${t.chain} - [0:0]\n`, `\n-N ${t.chain}\n`);
}

/**
 * Restore input for the usual teardown, needing no read: delete each
 * address's jump, then flush and delete the chain. It fails as a whole (and
 * changes nothing) when a jump is missing or another still uses the chain.
 */
export function planDirectTeardown(t: MasqTarget, f: Family, ips: string[]): string {
  const q = saveQuote(t.comment);
  const jumps = [...new Set(ips.map(normalizeIp))].map(
    (ip) => `-D POSTROUTING -s ${ip}/${hostBits(f)} -m comment --comment ${q} -j ${t.chain}`,
  );
  return ['*nat', ...jumps, `-F ${t.chain}`, `-X ${t.chain}`, 'COMMIT', ''].join('\n');
}

async function tryRestore(runner: Runner, f: Family, input: string): Promise<boolean> {
  return restoreApplied(runner, tool(f, 'restore'), input);
}

/**
 * SetupIPMasq for every address: per family one write when the chain is new
 * (the usual case), else one read and at most one write.
 */
export async function setupIpMasq(runner: Runner, t: MasqTarget, addresses: string[]): Promise<void> {
  for (const f of [4, 6] as const) {
    const mine = addresses.filter((a) => familyOfCidr(a) === f);
    if (mine.length === 0) continue;
    if (await tryRestore(runner, f, planFreshSetup(t, mine))) continue;
    const plan = planSetup(t, await readNatTable(runner, f), mine);
    if (plan) await restore(runner, f, plan);
  }
}

/**
 * TeardownIPMasq, tolerant of anything already gone, for both families. The
 * chain is shared by every ifname of one container on one network, so it is
 * only deleted once no POSTROUTING rule still jumps to it.
 */
export async function teardownIpMasq(runner: Runner, t: MasqTarget, sel: JumpSelector): Promise<void> {
  const families: Family[] = sel.kind === 'ips' ? ([4, 6].filter((f) => sel.ips.some((ip) => familyOfIp(ip) === f)) as Family[]) : [4, 6];
  for (const f of families) {
    // Known addresses and everything in place (the usual DEL): one write, no read.
    if (
      sel.kind === 'ips' &&
      (await tryRestore(
        runner,
        f,
        planDirectTeardown(
          t,
          f,
          sel.ips.filter((ip) => familyOfIp(ip) === f),
        ),
      ))
    )
      continue;
    const plan = planTeardown(t, await readNatTable(runner, f), sel);
    if (plan) await restore(runner, f, plan);
  }
}

/** One masquerade chain's owner, read back from its rules' comment. */
export interface MasqOwner {
  network: string;
  containerId: string;
  chain: string;
}

/**
 * The (network, container) pairs whose reference-format masquerade chain
 * (`CNI-` + hash of name+id, comment `name: "<net>" id: "<cid>"`) appears in a
 * nat table, from POSTROUTING jumps or the chain's own rules. Rules whose chain
 * name does not match the hash of their comment are someone else's and skipped.
 */
export function masqOwners(table: RuleTable): MasqOwner[] {
  const out = new Map<string, MasqOwner>();
  const re = /^-A (\S+) .*--comment "name: \\"([^"\\]*)\\" id: \\"([^"\\]*)\\"" -j (\S+)$/;
  for (const line of table.rules) {
    const m = re.exec(line);
    if (!m) continue;
    const [, from, network, containerId, to] = m;
    const chain = masqChainName(network, containerId);
    if (from !== chain && !(from === 'POSTROUTING' && to === chain)) continue;
    out.set(chain, {network, containerId, chain});
  }
  return [...out.values()];
}
