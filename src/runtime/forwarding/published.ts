import {createHash} from 'node:crypto';
import type {Deps} from '../../deps.js';
import type {Runner} from '../../exec/runner.js';
import {lockedForward} from '../state/locks.js';
import type {PortMapping} from '../publish.js';
import {FORWARD_CHAIN} from '../../net/iptables-forward.js';
import {readFilterTable, restoreNoflush, type RuleTable} from '../../net/iptables.js';

/**
 * Published ports through Docker's FORWARD policy. portmap rewrites a
 * connection to HOSTIP:HOSTPORT into CONTAINERIP:CONTAINERPORT in nat
 * PREROUTING; the packet is then forwarded into the bridge, where Docker's
 * FORWARD policy DROP (bridge netfilter on) drops it: a bridge's own rules
 * (./rules.ts) accept only traffic within the bridge, replies into it and
 * traffic out of it. So for each published port of an attachment the runtime
 * (never the plugin) adds one ACCEPT to CNI-DOCKER-FORWARD that matches only
 * connections portmap translated to that port:
 *
 *   -d CONTAINERIP/32 -o BRIDGE -p PROTO -m PROTO --dport CONTAINERPORT
 *   -m conntrack --ctstate DNAT --ctorigdstport HOSTPORT
 *   -m comment --comment "cni-docker port <attachment>" -j ACCEPT
 *
 * A connection straight to the container's address (no DNAT), or translated
 * from another host port, does not match. The rules are appended after the
 * bridge's, which are in place before the ADD finishes, so the bridge's DROP
 * of traffic from Docker's bridges (docker+, br-+) still comes first. They go
 * after a successful ADD (they need the container's address) and before the
 * DEL on detach; gc removes those whose attachment is gone. IPv4 only, like
 * the bridge rules: Docker leaves ip6tables' FORWARD policy at ACCEPT.
 */

const PREFIX = 'cni-docker port ';
const PLAIN_KEY = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * The comment that names an attachment's rules: its cache key when that is
 * short and plain (network names and container ids are; an interface name may
 * hold quotes or other bytes), else a digest of it, so nothing a user chose
 * reaches iptables-restore's input unquoted and the comment stays under
 * iptables' 256 bytes.
 */
export function publishComment(key: string): string {
  return PLAIN_KEY.test(key) ? `${PREFIX}${key}` : `${PREFIX}#${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

function checkName(bridge: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`invalid bridge name ${JSON.stringify(bridge)}`);
}

/** The rules of one attachment, each as `iptables -S` prints it (without "-A CHAIN"). */
export function publishRules(p: {key: string; bridge?: string; addresses: string[]; mappings: PortMapping[]}): string[] {
  if (p.bridge) checkName(p.bridge);
  const c = `-m comment --comment "${publishComment(p.key)}"`;
  const out: string[] = [];
  for (const ip of p.addresses) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`invalid container address ${JSON.stringify(ip)}`);
    for (const m of p.mappings) {
      // A mapping bound to an IPv6 host address never reaches an IPv4 container address.
      if (m.hostIP?.includes(':')) continue;
      const out0 = p.bridge ? ` -o ${p.bridge}` : '';
      out.push(
        `-d ${ip}/32${out0} -p ${m.protocol} -m ${m.protocol} --dport ${m.containerPort} -m conntrack --ctstate DNAT --ctorigdstport ${m.hostPort} ${c} -j ACCEPT`,
      );
    }
  }
  return [...new Set(out)];
}

function restore(runner: Runner, lines: string[]): Promise<unknown> {
  if (lines.length === 0) return Promise.resolve();
  return restoreNoflush(runner, 'iptables-restore', ['*filter', ...lines, 'COMMIT', ''].join('\n'));
}

function chainRules(st: RuleTable): string[] {
  return st.rules.filter((r) => r.startsWith(`-A ${FORWARD_CHAIN} `));
}

/** Add an attachment's rules (idempotent), with the chain and its jump when a bridge did not make them. */
export async function openPublished(deps: Deps, rules: string[]): Promise<void> {
  if (rules.length === 0) return;
  await lockedForward(deps, async () => {
    const st = await readFilterTable(deps.runner);
    const out: string[] = [];
    if (!st.chains.has(FORWARD_CHAIN)) out.push(`:${FORWARD_CHAIN} - [0:0]`);
    const parent = st.chains.has('DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
    if (!st.rules.includes(`-A ${parent} -j ${FORWARD_CHAIN}`)) out.push(`-I ${parent} 1 -j ${FORWARD_CHAIN}`);
    for (const r of rules) if (!st.rules.includes(`-A ${FORWARD_CHAIN} ${r}`)) out.push(`-A ${FORWARD_CHAIN} ${r}`);
    await restore(deps.runner, out);
  });
}

/**
 * Remove the rules with these comments (publishComment; idempotent); when the
 * chain is left empty (its bridges closed meanwhile), the chain and its jumps
 * go too. Returns how many rules were removed.
 */
export async function closePublished(deps: Deps, comments: string[]): Promise<number> {
  if (comments.length === 0) return 0;
  const wanted = comments.map((c) => ` --comment "${c}" `);
  return lockedForward(deps, async () => {
    const st = await readFilterTable(deps.runner);
    if (!st.chains.has(FORWARD_CHAIN)) return 0;
    const all = chainRules(st);
    const mine = all.filter((r) => wanted.some((c) => r.includes(c)));
    if (mine.length === 0) return 0;
    const out = mine.map((r) => `-D ${r.slice(3)}`);
    if (mine.length === all.length) {
      for (const parent of ['DOCKER-USER', 'FORWARD'])
        if (st.rules.includes(`-A ${parent} -j ${FORWARD_CHAIN}`)) out.push(`-D ${parent} -j ${FORWARD_CHAIN}`);
      out.push(`-X ${FORWARD_CHAIN}`);
    }
    await restore(deps.runner, out);
    return mine.length;
  });
}

/** The comments of every published-port rule in the chain, with how many rules each has (for gc). */
export async function publishedComments(runner: Runner): Promise<Map<string, number>> {
  const st = await readFilterTable(runner);
  const out = new Map<string, number>();
  for (const r of chainRules(st)) {
    const m = /--comment "(cni-docker port [^"]+)"/.exec(r);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}
