import type {Deps} from '../../deps.js';
import type {NetworkConfigList} from '../../cni/config.js';
import {parseResult} from '../../cni/results.js';
import {DockerApiError} from '../../docker/errors.js';
import {getLink} from '../../net/link.js';
import {attach} from '../attach.js';
import {mappingsOf, publishSpec} from '../publish.js';
import {summarize, type Attachment} from '../attachment.js';
import {listCache, type CacheEntry} from '../state/result-cache.js';
import {releaseEntry} from '../detach.js';
import {releaseForwarding} from '../forwarding/open-close.js';
import {readMeta, type AttachmentMeta} from '../state/attachment-meta.js';
import {errorText} from '../../util/error-text.js';

/**
 * What `watch` does for one container, each step idempotent so that a replayed
 * or missed event is harmless: `started` (re)attaches its persistent networks
 * in the current namespace with the same address and MAC, `died` releases its
 * non-persistent attachments, `destroyed` releases everything.
 */
export const NETWORKS_LABEL = 'cni-docker.networks';

export type WatchActionKind = 'attached' | 'reattached' | 'released' | 'kept' | 'failed';

export interface WatchAction {
  action: WatchActionKind;
  containerId: string;
  name: string;
  network: string;
  ifname?: string;
  addresses?: string[];
  mac?: string;
  message?: string;
}

/** `net1, net2` → ['net1', 'net2'] (empty names dropped, duplicates removed). */
export function labelNetworks(labels: Record<string, string> | undefined): string[] {
  const v = labels?.[NETWORKS_LABEL];
  if (!v) return [];
  return [
    ...new Set(
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** The addresses (bare) and MAC an attachment had, to request them again. */
export function previousIdentity(e: CacheEntry, meta: AttachmentMeta | undefined): {ips: string[]; mac?: string} {
  let ips: string[] = [];
  let mac = meta?.mac;
  try {
    if (e.result) {
      const s = summarize(parseResult(e.result), e.ifName, e.netns ?? '');
      ips = s.addresses.map((a) => a.split('/')[0]);
      mac = s.mac ?? mac;
    }
  } catch {
    // unreadable result: attach afresh
  }
  return {ips, mac};
}

/** CNI_ARGS of a re-attach: IP=<a>[,<b>] (host-local takes a list) and MAC. */
export function reattachArgs(ids: {ips: string[]; mac?: string}): {args: string[]; mac?: string} {
  return {args: ids.ips.length > 0 ? [`IP=${ids.ips.join(',')}`] : [], mac: ids.mac};
}

async function releaseAll(deps: Deps, entries: CacheEntry[], name: string, out: WatchAction[]): Promise<void> {
  const lists: NetworkConfigList[] = [];
  for (const e of entries) {
    const base = {containerId: e.containerId, name, network: e.networkName, ifname: e.ifName};
    try {
      const l = await releaseEntry(deps, e);
      if (l) lists.push(l);
      out.push({...base, action: 'released'});
    } catch (err) {
      out.push({...base, action: 'failed', message: `release failed: ${errorText(err)}`});
    }
  }
  await releaseForwarding(deps, lists).catch((err: unknown) => deps.log.warn(`closing forwarding: ${errorText(err)}`));
}

/** `die`: keep persistent attachments (their reservation waits for the restart), release the others. */
export async function died(deps: Deps, id: string): Promise<WatchAction[]> {
  const out: WatchAction[] = [];
  const release: CacheEntry[] = [];
  for (const e of await listCache(deps.paths.cacheDir, id)) {
    const meta = await readMeta(deps.paths.stateDir, e.networkName, e.containerId, e.ifName);
    if (meta?.persist) out.push({action: 'kept', containerId: id, name: meta.name, network: e.networkName, ifname: e.ifName});
    else release.push(e);
  }
  await releaseAll(deps, release, id.slice(0, 12), out);
  return out;
}

/** `destroy`: release everything the container had. */
export async function destroyed(deps: Deps, id: string): Promise<WatchAction[]> {
  const out: WatchAction[] = [];
  const entries = await listCache(deps.paths.cacheDir, id);
  const meta = entries[0] ? await readMeta(deps.paths.stateDir, entries[0].networkName, id, entries[0].ifName) : undefined;
  await releaseAll(deps, entries, meta?.name ?? id.slice(0, 12), out);
  return out;
}

function attachedOf(a: Attachment): Pick<WatchAction, 'ifname' | 'addresses' | 'mac'> {
  return {ifname: a.ifname, addresses: a.addresses, mac: a.mac};
}

/**
 * `start`: every persistent attachment (attach --persist, or a network named
 * in the cni-docker.networks label) is made present in the container's
 * current namespace. One that is already there is left alone; one left from
 * the previous namespace is DELeted and added again with its address and MAC.
 */
export async function started(deps: Deps, id: string): Promise<WatchAction[]> {
  let info;
  try {
    info = await deps.docker.inspectContainer(id);
  } catch (err) {
    if (err instanceof DockerApiError && err.statusCode === 404) return destroyed(deps, id);
    throw err;
  }
  if (!info.State?.Running) return [];
  const name = info.Name.replace(/^\//, '');
  const sandbox = info.NetworkSettings?.SandboxKey ?? '';
  const out: WatchAction[] = [];
  const wanted = labelNetworks(info.Config?.Labels);
  const stale: CacheEntry[] = [];
  const covered = new Set<string>();
  for (const e of await listCache(deps.paths.cacheDir, id)) {
    covered.add(e.networkName);
    const meta = await readMeta(deps.paths.stateDir, e.networkName, id, e.ifName);
    const here = e.netns === sandbox && (await getLink(deps.runner, e.ifName, sandbox).catch(() => undefined)) !== undefined;
    if (here) continue;
    if (!meta?.persist && !wanted.includes(e.networkName)) {
      stale.push(e);
      continue;
    }
    const base = {containerId: id, name, network: e.networkName};
    try {
      const prev = previousIdentity(e, meta);
      await releaseEntry(deps, e);
      const source = meta?.source?.conf || meta?.source?.net ? meta.source : {net: e.networkName};
      // The same published ports as before (from the cache: the DEL above closed them).
      const publish = mappingsOf(e.capabilityArgs).map(publishSpec);
      const r = await attach(deps, {containers: [id], ...source, ifname: e.ifName, ...reattachArgs(prev), publish, persist: true});
      if (r.failures.length > 0) throw new Error(r.failures.map((f) => f.message).join('; '));
      out.push({...base, action: 'reattached', ...attachedOf(r.done[0] as Attachment)});
    } catch (err) {
      out.push({...base, ifname: e.ifName, action: 'failed', message: `re-attach failed: ${errorText(err)}`});
    }
  }
  await releaseAll(deps, stale, name, out);
  for (const net of wanted.filter((n) => !covered.has(n))) {
    try {
      const r = await attach(deps, {containers: [id], net, persist: true});
      if (r.failures.length > 0) throw new Error(r.failures.map((f) => f.message).join('; '));
      out.push({containerId: id, name, network: net, action: 'attached', ...attachedOf(r.done[0] as Attachment)});
    } catch (err) {
      out.push({containerId: id, name, network: net, action: 'failed', message: `attach failed: ${errorText(err)}`});
    }
  }
  return out;
}
