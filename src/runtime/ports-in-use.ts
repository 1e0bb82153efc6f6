import type {Deps} from '../deps.js';
import type {NetworkConfigList} from '../cni/config.js';
import {UserError} from '../errors.js';
import {readMeta} from './state/attachment-meta.js';
import {entryKey, knownEntries} from './state/known-attachments.js';
import {collides, formatPort, mappingsOf, type PortMapping} from './publish.js';
import type {Target} from './target.js';

/**
 * Refuse host ports another known attachment (cached or being made) already
 * publishes: portmap reserves nothing, and the DNAT rule met first would take
 * the traffic. portmap also keys its rules by network and container, so one
 * container publishes on a network through one interface only.
 */
export async function assertPortsFree(
  deps: Deps,
  list: NetworkConfigList,
  target: Target,
  ifname: string,
  publish: PortMapping[],
): Promise<void> {
  const own = entryKey({networkName: list.name, containerId: target.containerId, ifName: ifname});
  for (const e of await knownEntries(deps)) {
    if (entryKey(e) === own) continue;
    const theirs = mappingsOf(e.capabilityArgs);
    if (theirs.length === 0) continue;
    if (e.containerId === target.containerId && e.networkName === list.name) {
      throw new UserError(
        `${target.name} already publishes ports on ${list.name} through ${e.ifName}; portmap keeps one set of ports per network and container`,
      );
    }
    for (const m of publish) {
      const clash = theirs.find((t) => collides(t, m));
      if (!clash) continue;
      const who = (await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName))?.name ?? e.containerId.slice(0, 12);
      throw new UserError(
        `host port ${m.hostPort}/${m.protocol} is already published by ${who} on ${e.networkName} (${formatPort(clash)})`,
      );
    }
  }
}
