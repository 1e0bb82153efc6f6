import type {Runner} from '../exec/runner.js';
import {readFilterTable, restoreApplied, restoreNoflush} from './iptables.js';

/**
 * Docker sets the FORWARD policy to DROP and turns on bridge netfilter, so
 * traffic on a CNI bridge is dropped while dockerd runs. The attach runtime
 * (never the pure plugin) opens exactly what a bridge network needs, in our own
 * filter chain jumped to from DOCKER-USER (or FORWARD when Docker is absent):
 *  - traffic between ports of the same bridge;
 *  - replies into the bridge;
 *  - traffic from the bridge out of the host, except into Docker's own bridges
 *    (docker0, br-*), which stay isolated from ours in both directions: Docker
 *    itself accepts anything leaving docker0, so new connections from its
 *    bridges into ours are dropped here, before Docker's rules see them.
 * Rules carry the comment `cni-docker bridge <name>`; the runtime decides when
 * a bridge's rules open and close (src/runtime/forwarding/open-close.ts).
 *
 * An overlay's bridge also accepts traffic from the vxlan devices
 * (`flannel.<VNI>`): containers on other hosts open connections to ours.
 * The rule names the devices by their prefix because the VNI lives in etcd,
 * not in the network config, and forwarding opens alongside the ADD that
 * reads it; only this host's own subnet is routed into the bridge.
 */
export const FORWARD_CHAIN = 'CNI-DOCKER-FORWARD';

/** The overlay's vxlan devices, as an iptables interface pattern. */
export const OVERLAY_DEVICES = 'flannel.+';

export function forwardComment(bridge: string): string {
  return `cni-docker bridge ${bridge}`;
}

/** The rules for one bridge, each as iptables-save prints it (without "-A CHAIN"). */
export function forwardRules(bridge: string, overlay = false): string[] {
  const c = `-m comment --comment "${forwardComment(bridge)}"`;
  return [
    `-i docker+ -o ${bridge} ${c} -j DROP`,
    `-i br-+ -o ${bridge} ${c} -j DROP`,
    `-i ${bridge} -o ${bridge} ${c} -j ACCEPT`,
    `-o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
    ...(overlay ? [`-i ${OVERLAY_DEVICES} -o ${bridge} ${c} -j ACCEPT`] : []),
    `-i ${bridge} -o docker+ ${c} -j RETURN`,
    `-i ${bridge} -o br-+ ${c} -j RETURN`,
    `-i ${bridge} ! -o ${bridge} ${c} -j ACCEPT`,
  ];
}

function checkName(bridge: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`invalid bridge name ${JSON.stringify(bridge)}`);
}

async function restore(runner: Runner, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await restoreNoflush(runner, 'iptables-restore', ['*filter', ...lines, 'COMMIT', ''].join('\n'));
}

/** The filter-table lines as one restore that may fail as a whole: true when it applied. */
function tryRestore(runner: Runner, lines: string[]): Promise<boolean> {
  return restoreApplied(runner, 'iptables-restore', ['*filter', ...lines, 'COMMIT', ''].join('\n'));
}

/**
 * Open forwarding for `bridge` (idempotent). `fresh`: no attachment of ours
 * uses another bridge, so the chain should not exist: the chain, its jump from
 * DOCKER-USER and the rules go in one write without a read. That write fails
 * as a whole when the chain exists after all or Docker has no DOCKER-USER
 * chain, and the read-and-plan below does the work.
 */
export async function ensureForward(runner: Runner, bridge: string, fresh = false, overlay = false): Promise<void> {
  checkName(bridge);
  const rules = forwardRules(bridge, overlay);
  if (
    fresh &&
    (await tryRestore(runner, [
      `-N ${FORWARD_CHAIN}`,
      `-I DOCKER-USER 1 -j ${FORWARD_CHAIN}`,
      ...rules.map((r) => `-A ${FORWARD_CHAIN} ${r}`),
    ]))
  )
    return;
  const st = await readFilterTable(runner);
  const out: string[] = [];
  if (!st.chains.has(FORWARD_CHAIN)) out.push(`:${FORWARD_CHAIN} - [0:0]`);
  const parent = st.chains.has('DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
  if (!st.rules.includes(`-A ${parent} -j ${FORWARD_CHAIN}`)) out.push(`-I ${parent} 1 -j ${FORWARD_CHAIN}`);
  for (const r of rules) {
    if (!st.rules.includes(`-A ${FORWARD_CHAIN} ${r}`)) out.push(`-A ${FORWARD_CHAIN} ${r}`);
  }
  await restore(runner, out);
}

/**
 * Remove the rules of `bridge`; drop the chain and its jumps when it is empty.
 * With `last` (no attachment of ours uses another bridge, so the chain should
 * hold only this bridge's rules) first one write without a read: the rules,
 * the jump from DOCKER-USER and the chain. It fails as a whole, changing
 * nothing, when a rule is missing, the jump comes from FORWARD or other rules
 * remain in the chain; then, and without `last`, the read-and-plan below.
 */
export async function removeForward(runner: Runner, bridge: string, last = false, overlay = false): Promise<void> {
  checkName(bridge);
  if (
    last &&
    (await tryRestore(runner, [
      ...forwardRules(bridge, overlay).map((r) => `-D ${FORWARD_CHAIN} ${r}`),
      `-D DOCKER-USER -j ${FORWARD_CHAIN}`,
      `-X ${FORWARD_CHAIN}`,
    ]))
  )
    return;
  const st = await readFilterTable(runner);
  if (!st.chains.has(FORWARD_CHAIN)) return;
  const mine = st.rules.filter((r) => r.startsWith(`-A ${FORWARD_CHAIN} `) && r.includes(`--comment "${forwardComment(bridge)}"`));
  const out = mine.map((r) => `-D ${r.slice(3)}`);
  const others = st.rules.filter((r) => r.startsWith(`-A ${FORWARD_CHAIN} `) && !mine.includes(r));
  if (others.length === 0) {
    for (const parent of ['DOCKER-USER', 'FORWARD']) {
      for (const r of st.rules) if (r === `-A ${parent} -j ${FORWARD_CHAIN}`) out.push(`-D ${parent} -j ${FORWARD_CHAIN}`);
    }
    out.push(`-X ${FORWARD_CHAIN}`);
  }
  await restore(runner, out);
}

/** Bridges that currently have forwarding rules of ours. */
export async function forwardedBridges(runner: Runner): Promise<string[]> {
  const st = await readFilterTable(runner);
  const names = new Set<string>();
  for (const r of st.rules) {
    const m = /--comment "cni-docker bridge ([^"]+)"/.exec(r);
    if (r.startsWith(`-A ${FORWARD_CHAIN} `) && m) names.add(m[1]);
  }
  return [...names].sort();
}
