import {isLiveNetns} from '../net/netns.js';
import type {Deps} from '../deps.js';
import {parseResult} from '../cni/results.js';
import {listCache} from './state/result-cache.js';
import {readMeta} from './state/attachment-meta.js';
import {cachedList, typeOf} from './network-config.js';
import {summarize, type Attachment} from './attachment.js';
import {mappingsOf} from './publish.js';

export type AttachmentState = 'running' | 'stopped' | 'gone' | 'unknown';

export interface ListedAttachment extends Attachment {
  state: AttachmentState;
  persist?: boolean;
}

export interface ListFilter {
  /** Container name, Id or Id prefix. */
  container?: string;
  net?: string;
}

/**
 * Every attachment in the result cache, with the container's name and state
 * (one Docker call for all of them). A plain netns is "running" while its
 * path exists. Docker unreachable → state "unknown", never an error.
 */
export async function listAttachments(deps: Deps, filter: ListFilter = {}): Promise<ListedAttachment[]> {
  const entries = await listCache(deps.paths.cacheDir);
  let states: Map<string, {state: AttachmentState; name: string}> | undefined;
  try {
    states = new Map();
    for (const c of await deps.docker.listContainers(true)) {
      const name = (c.Names ?? [])[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
      states.set(c.Id, {state: c.State === 'running' ? 'running' : 'stopped', name});
    }
  } catch {
    states = undefined;
  }
  const out: ListedAttachment[] = [];
  for (const e of entries) {
    if (filter.net && e.networkName !== filter.net) continue;
    const meta = await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
    const kind = meta?.kind ?? (/^[0-9a-f]{64}$/.test(e.containerId) ? 'container' : 'netns');
    let state: AttachmentState;
    let name = meta?.name ?? e.containerId.slice(0, 12);
    if (kind === 'netns') state = isLiveNetns(e.netns) ? 'running' : 'gone';
    else if (!states) state = 'unknown';
    else {
      const s = states.get(e.containerId);
      state = s?.state ?? 'gone';
      if (s) name = s.name;
    }
    if (filter.container) {
      const f = filter.container;
      if (!(name === f || e.containerId === f || (f.length >= 4 && e.containerId.startsWith(f)))) continue;
    }
    let type = '?';
    try {
      type = typeOf(cachedList(e.config));
    } catch {
      // legacy entry without a usable config
    }
    let sum: {addresses: string[]; gateways: string[]; mac?: string} = {addresses: [], gateways: []};
    try {
      if (e.result) sum = summarize(parseResult(e.result), e.ifName, e.netns ?? '');
    } catch {
      // unreadable result: list it without addresses
    }
    out.push({
      container: name,
      containerId: e.containerId,
      kind,
      network: e.networkName,
      type,
      ifname: e.ifName,
      netns: e.netns ?? '',
      addresses: sum.addresses,
      gateways: sum.gateways,
      mac: sum.mac ?? meta?.mac,
      ports: mappingsOf(e.capabilityArgs).length > 0 ? mappingsOf(e.capabilityArgs) : undefined,
      state,
      persist: meta?.persist || undefined,
    });
  }
  return out;
}
