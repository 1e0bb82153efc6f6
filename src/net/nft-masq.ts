import {createHash} from 'node:crypto';
import {accessSync, constants} from 'node:fs';
import type {Runner} from '../exec/runner.js';
import {familyOf, ipString, networkString, parseCidrAsWritten} from '../util/ip.js';
import {nftApply, nftList, nftString} from './nft.js';

/**
 * The bridge's IP masquerade with `ipMasqBackend: "nftables"` (reference
 * pkg/ip/ipmasq_nftables_linux.go, plugins HEAD):
 *
 *   table inet cni_plugins_masquerade            comment "Masquerading for plugins from ..."
 *     chain masq_checks                          comment "Masquerade traffic from ..."
 *       ip saddr == <ip> ip daddr != <net/len> masquerade comment "<h1>-<h2>, net: <n>, if: <if>, id: <cid>"
 *     chain postrouting (nat, hook postrouting, priority srcnat), rewritten on every ADD:
 *       ip daddr == 224.0.0.0/4 return; ip6 daddr == ff00::/8 return; goto masq_checks
 *
 * One rule per address; each carries a comment that starts with a hash of
 * (network, ifname + containerID), so DEL removes exactly this attachment's
 * rules even when another container has since reused the address. ADD reads
 * masq_checks once and writes one `nft -f -` transaction (which also drops
 * this attachment's stale rules); DEL reads once and deletes in one.
 */

const TABLE = 'inet cni_plugins_masquerade';
const CHAIN = 'masq_checks';
const TABLE_COMMENT = 'Masquerading for plugins from github.com/containernetworking/plugins';
const CHAIN_COMMENT = 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet';
/** knftables.CommentLengthMax. */
const COMMENT_MAX = 128;

const hash16 = (s: string): string => createHash('sha512').update(s).digest('hex').slice(0, 16);

/** First 16 hex digits of sha512(network). */
export function hashForNetwork(network: string): string {
  return hash16(network);
}

/** `<hash(network)>-<hash(ifname:containerID)>`: the prefix of every rule comment of one attachment. */
export function hashForInstance(network: string, ifname: string, containerId: string): string {
  return `${hashForNetwork(network)}-${hash16(`${ifname}:${containerId}`)}`;
}

/** The rule comment: the instance hash, then a readable description, cut to 128 bytes. */
export function commentForInstance(network: string, ifname: string, containerId: string): string {
  const strip = (s: string): string => s.replaceAll('"', '');
  const full = `${hashForInstance(network, ifname, containerId)}, net: ${strip(network)}, if: ${strip(ifname)}, id: ${strip(containerId)}`;
  const b = Buffer.from(full, 'utf8');
  return b.length > COMMENT_MAX ? b.subarray(0, COMMENT_MAX).toString('utf8') : full;
}

export interface MasqInstance {
  network: string;
  ifname: string;
  containerId: string;
}

/** Handles of masq_checks rules whose comment starts with `prefix` (none when the chain is absent). */
async function findRules(runner: Runner, prefix: string): Promise<number[]> {
  const l = await nftList(runner, ['chain', ...TABLE.split(' '), CHAIN]);
  return (l?.rules ?? [])
    .filter((r) => r.chain === CHAIN && r.comment?.startsWith(prefix) && Number.isInteger(r.handle))
    .map((r) => r.handle);
}

/** The ADD script for `addresses` ("10.1.2.3/24", "fd00::3/64"), deleting the `stale` rule handles in the same transaction. */
export function nftMasqSetupScript(inst: MasqInstance, addresses: string[], stale: number[]): string[] {
  const comment = nftString(commentForInstance(inst.network, inst.ifname, inst.containerId));
  const rules = addresses.map((a) => {
    const c = parseCidrAsWritten(a);
    if (!c) throw new Error(`invalid address ${JSON.stringify(a)}`);
    const ip = familyOf(c.ip) === 4 ? 'ip' : 'ip6';
    return `add rule ${TABLE} ${CHAIN} ${ip} saddr == ${ipString(c.ip)} ${ip} daddr != ${networkString(c)} masquerade comment ${comment}`;
  });
  return [
    `add table ${TABLE} { comment ${nftString(TABLE_COMMENT)} ; }`,
    `add chain ${TABLE} ${CHAIN} { comment ${nftString(CHAIN_COMMENT)} ; }`,
    `add chain ${TABLE} postrouting { type nat hook postrouting priority srcnat ; }`,
    `flush chain ${TABLE} postrouting`,
    `add rule ${TABLE} postrouting ip daddr == 224.0.0.0/4 return`,
    `add rule ${TABLE} postrouting ip6 daddr == ff00::/8 return`,
    `add rule ${TABLE} postrouting goto ${CHAIN}`,
    ...stale.map((h) => `delete rule ${TABLE} ${CHAIN} handle ${h}`),
    ...rules,
  ];
}

export async function setupNftMasq(runner: Runner, inst: MasqInstance, addresses: string[]): Promise<void> {
  const stale = await findRules(runner, hashForInstance(inst.network, inst.ifname, inst.containerId));
  await nftApply(runner, nftMasqSetupScript(inst, addresses, stale));
}

/** Delete this attachment's masq_checks rules; the table and chains stay (as with the reference). */
export async function teardownNftMasq(runner: Runner, inst: MasqInstance): Promise<void> {
  await delNftMasqRules(runner, await findRules(runner, hashForInstance(inst.network, inst.ifname, inst.containerId)));
}

/** Delete masq_checks rules by handle, in one transaction. */
export async function delNftMasqRules(runner: Runner, handles: number[]): Promise<void> {
  if (handles.length === 0) return;
  await nftApply(
    runner,
    handles.map((h) => `delete rule ${TABLE} ${CHAIN} handle ${h}`),
  );
}

/** One attachment's masq_checks rules, read back from their comments. */
export interface NftMasqOwner extends MasqInstance {
  handles: number[];
}

const OWNER = /^([0-9a-f]{16}-[0-9a-f]{16}), net: (.+), if: (.+), id: (.+)$/;

/**
 * The attachments that own rules in masq_checks, parsed from the comments and
 * kept only when the comment's hash prefix is the hash of what it names (a
 * comment cut at 128 bytes, or someone else's, is skipped). gc uses it for
 * rules whose attachment left no cache behind.
 */
export async function nftMasqOwners(runner: Runner): Promise<NftMasqOwner[]> {
  const l = await nftList(runner, ['chain', ...TABLE.split(' '), CHAIN]).catch(() => undefined);
  const out = new Map<string, NftMasqOwner>();
  for (const r of l?.rules ?? []) {
    const m = r.chain === CHAIN && r.comment ? OWNER.exec(r.comment) : null;
    if (!m || hashForInstance(m[2], m[3], m[4]) !== m[1]) continue;
    const o = out.get(m[1]) ?? {network: m[2], ifname: m[3], containerId: m[4], handles: []};
    o.handles.push(r.handle);
    out.set(m[1], o);
  }
  return [...out.values()];
}

export type MasqBackend = 'iptables' | 'nftables';

/** Whether a tool is installed, without a subprocess. */
export function haveTool(name: string, dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']): boolean {
  return dirs.some((d) => {
    try {
      accessSync(`${d}/${name}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * `ipMasqBackend`: "iptables" or "nftables" as given; "" (absent) means
 * iptables unless iptables is unusable (not installed) and nft is installed.
 */
export function resolveMasqBackend(backend: string, have: (tool: string) => boolean = haveTool): MasqBackend {
  if (backend === 'iptables' || backend === 'nftables') return backend;
  if (backend !== '') throw new Error(`unknown ipmasq backend ${JSON.stringify(backend)}`);
  return !have('iptables') && have('nft') ? 'nftables' : 'iptables';
}

/** The backend DEL cleans up after: as ADD resolves it, with an unknown name (refused by ADD) meaning iptables. */
export function teardownBackend(backend: string, have: (tool: string) => boolean = haveTool): MasqBackend {
  return backend === 'iptables' || backend === 'nftables' || backend === '' ? resolveMasqBackend(backend, have) : 'iptables';
}
