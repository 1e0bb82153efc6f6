import {readFileSync} from 'node:fs';
import {readdir, rm} from 'node:fs/promises';
import path from 'node:path';
import {isTempFile, writeFileAtomic} from '../../util/atomic.js';
import {removeBridgeUser} from './bridge-users.js';
import {nameMayHold} from './result-cache.js';

/**
 * What cni-docker remembers about an attachment beyond libcni's result cache
 * (whose fields stay exactly libcni's): the container's name (so `list` and
 * `detach` still know it after `docker rm`), the target kind, the container
 * MAC (0.1/0.2 results carry none), and whether the attachment is persistent.
 * One small JSON file per attachment, keyed like the cache.
 */
export interface AttachmentMeta {
  name: string;
  kind: 'container' | 'netns';
  mac?: string;
  persist?: boolean;
  /** Where the config came from (file path or network name), for re-attach. */
  source?: {conf?: string; net?: string};
  createdAt: string;
  /**
   * Written before ADD starts and replaced when it has finished: if attach is
   * killed half-way, this is what lets detach and gc find and undo what it made
   * (the libcni cache is only written after the whole chain succeeded).
   */
  pending?: PendingAttach;
}

export interface PendingAttach {
  network: string;
  containerId: string;
  ifname: string;
  /** The network config list's bytes. */
  config: string;
  netns: string;
  cniArgs?: [string, string][];
  /**
   * What the cache will hold as capabilityArgs: a DEL of a half-made attach
   * needs them too (portmap removes nothing without its portMappings).
   */
  capabilityArgs?: Record<string, unknown>;
}

export function metaDir(stateDir: string): string {
  return path.join(stateDir, 'attachments');
}

function metaFile(stateDir: string, network: string, containerId: string, ifname: string): string {
  return path.join(metaDir(stateDir), `${network}-${containerId}-${ifname}.json`);
}

export async function writeMeta(
  stateDir: string,
  network: string,
  containerId: string,
  ifname: string,
  meta: AttachmentMeta,
): Promise<void> {
  await writeFileAtomic(metaFile(stateDir, network, containerId, ifname), JSON.stringify(meta, null, 2) + '\n');
}

export async function readMeta(
  stateDir: string,
  network: string,
  containerId: string,
  ifname: string,
): Promise<AttachmentMeta | undefined> {
  try {
    // Synchronous, as the result cache's reads: list reads one per attachment.
    return JSON.parse(readFileSync(metaFile(stateDir, network, containerId, ifname), 'utf8')) as AttachmentMeta;
  } catch {
    return undefined;
  }
}

/** Forget an attachment that is gone: its record, and its place among its bridges' users (./bridge-users.ts). */
export async function deleteMeta(stateDir: string, network: string, containerId: string, ifname: string): Promise<void> {
  await removeBridgeUser(stateDir, `${network}-${containerId}-${ifname}`);
  await rm(metaFile(stateDir, network, containerId, ifname), {force: true});
}

/**
 * Attachments whose ADD started but never finished (attach was killed), as
 * cache-shaped entries; with `ids`, only those containers' (reading only their files).
 */
export async function pendingEntries(
  stateDir: string,
  ids?: ReadonlySet<string>,
): Promise<
  {
    containerId: string;
    ifName: string;
    networkName: string;
    config: string;
    netns?: string;
    cniArgs?: [string, string][];
    capabilityArgs?: Record<string, unknown>;
  }[]
> {
  const out = [];
  for (const key of await listMetaKeys(stateDir)) {
    if (!nameMayHold(key, ids)) continue;
    let meta: AttachmentMeta;
    try {
      meta = JSON.parse(readFileSync(path.join(metaDir(stateDir), `${key}.json`), 'utf8')) as AttachmentMeta;
    } catch {
      continue;
    }
    const p = meta.pending;
    if (!p || key !== `${p.network}-${p.containerId}-${p.ifname}` || (ids && !ids.has(p.containerId))) continue;
    out.push({
      containerId: p.containerId,
      ifName: p.ifname,
      networkName: p.network,
      config: p.config,
      netns: p.netns,
      cniArgs: p.cniArgs,
      capabilityArgs: p.capabilityArgs,
    });
  }
  return out;
}

/** Every meta file's key, for gc of orphans. */
export async function listMetaKeys(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(metaDir(stateDir))).filter((n) => n.endsWith('.json') && !isTempFile(n)).map((n) => n.slice(0, -5));
  } catch {
    return [];
  }
}
