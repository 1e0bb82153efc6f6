import {isLiveNetns} from '../net/netns.js';
import type {Deps} from '../deps.js';
import {parseResult} from '../cni/results.js';
import {versionGte} from '../cni/version.js';
import {getLink} from '../net/link.js';
import {validateExpectedIps, validateExpectedRoutes} from '../plugins/validate-expected.js';
import {parseNatSave} from '../net/iptables.js';
import {masqChainName} from '../net/iptables-masq.js';
import {checkNetworkList} from './chain.js';
import {listCache, type CacheEntry} from './state/result-cache.js';
import {cachedList} from './network-config.js';
import {listAttachments} from './list-attachments.js';
import {UserError} from '../errors.js';
import {errorText} from '../util/error-text.js';

/**
 * `check`: each attachment of a container compared with the system (the
 * runtime side; a plugin's own CHECK is one of the comparisons).
 */
export interface CheckReport {
  container: string;
  containerId: string;
  network: string;
  ifname: string;
  ok: boolean;
  /** One line per drift found. */
  problems: string[];
}

/** iptables-save -t nat for one family, read at most once per check run. */
function natReader(deps: Deps): (family: 4 | 6) => Promise<ReturnType<typeof parseNatSave>> {
  const cache = new Map<number, Promise<ReturnType<typeof parseNatSave>>>();
  return (family) => {
    if (!cache.has(family))
      cache.set(
        family,
        deps.runner.run(family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']).then((r) => parseNatSave(r.stdout)),
      );
    return cache.get(family)!;
  };
}

/**
 * Compare one attachment with the system: the namespace and link exist, every
 * cached address and route is in place, the masquerade rules of ipMasq
 * bridges are there, and (for cniVersion ≥ 0.4.0) the plugins' own CHECK passes.
 */
async function checkEntry(deps: Deps, e: CacheEntry, name: string, nat: ReturnType<typeof natReader>): Promise<CheckReport> {
  const problems: string[] = [];
  const report = (): CheckReport => ({
    container: name,
    containerId: e.containerId,
    network: e.networkName,
    ifname: e.ifName,
    ok: problems.length === 0,
    problems,
  });
  const netns = e.netns ?? '';
  if (!isLiveNetns(netns)) {
    problems.push(`network namespace ${netns || '(none)'} is gone (container stopped or removed?)`);
    return report();
  }
  if (!(await getLink(deps.runner, e.ifName, netns).catch(() => undefined))) {
    problems.push(`interface ${e.ifName} is missing in ${netns}`);
    return report();
  }
  const list = cachedList(e.config);
  const result = e.result ? parseResult(e.result) : undefined;
  if (result) {
    await validateExpectedIps(deps.runner, netns, e.ifName, result.ips ?? []).catch((err: unknown) => problems.push(errorText(err)));
    await validateExpectedRoutes(deps.runner, netns, result.routes ?? []).catch((err: unknown) => problems.push(errorText(err)));
    for (const p of list.plugins) {
      // An overlay writes the bridge's masquerade chain itself (src/plugins/overlay.ts).
      if (!['bridge', 'overlay'].includes(p.network.type) || p.raw.ipMasq !== true) continue;
      const chain = masqChainName(list.name, e.containerId);
      for (const ip of result.ips ?? []) {
        const family = ip.address.includes(':') ? 6 : 4;
        const t = await nat(family);
        const host = ip.address.split('/')[0];
        const jump = t.rules.some(
          (r) => r.startsWith(`-A POSTROUTING -s ${host}/${family === 4 ? 32 : 128} `) && r.endsWith(`-j ${chain}`),
        );
        if (!t.chains.has(chain) || !jump) problems.push(`masquerade rule for ${host} (chain ${chain}) is missing`);
      }
    }
  }
  if (versionGte(list.cniVersion || '0.1.0', '0.4.0')) {
    // Without the cached capabilityArgs, unlike libcni: the reference portmap before v1.3.0 (Debian 12 ships
    // 1.1.1) checks the IPv6 DNAT chain of an IPv4-only container and so fails every CHECK given portMappings.
    await checkNetworkList(deps, list, {containerId: e.containerId, netns, ifname: e.ifName, cniArgs: e.cniArgs}).catch((err: unknown) => {
      const msg = errorText(err);
      if (!problems.includes(msg)) problems.push(`plugin CHECK: ${msg}`);
    });
  }
  return report();
}

export async function checkAttachments(deps: Deps, containerId: string, name: string, network?: string): Promise<CheckReport[]> {
  const entries = (await listCache(deps.paths.cacheDir, containerId)).filter((e) => !network || e.networkName === network);
  const nat = natReader(deps);
  const out: CheckReport[] = [];
  for (const e of entries) out.push(await checkEntry(deps, e, name, nat));
  return out;
}

/**
 * `check <container>`: the attachments of every container the name stands
 * for (name, Id or Id prefix, as `list` matches them), optionally on one
 * network only, each compared with the system.
 */
export async function checkContainer(deps: Deps, req: {container: string; net?: string}): Promise<CheckReport[]> {
  const rows = await listAttachments(deps, {container: req.container, net: req.net});
  const ids = [...new Map(rows.map((r) => [r.containerId, r.container])).entries()];
  if (ids.length === 0) throw new UserError(`${req.container} has no attachments${req.net ? ` on ${req.net}` : ''}`);
  const reports: CheckReport[] = [];
  for (const [id, name] of ids) reports.push(...(await checkAttachments(deps, id, name, req.net)));
  return reports;
}
