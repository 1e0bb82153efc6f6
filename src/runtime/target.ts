import {stat} from 'node:fs/promises';
import path from 'node:path';
import type {Deps} from '../deps.js';
import type {DockerApi} from '../docker/client.js';
import {lookupSandbox} from '../docker/lookup.js';
import {UserError} from '../errors.js';
import {validateContainerId} from '../cni/validate.js';
import {isLiveNetns} from '../net/netns.js';

/** Where an attachment goes: a container's namespace or a plain named netns. */
export interface Target {
  kind: 'container' | 'netns';
  /** CNI_CONTAINERID: the Docker Id, or the netns name for a plain namespace. */
  containerId: string;
  /** Human name: container name, or the netns name. */
  name: string;
  /** CNI_NETNS. */
  netns: string;
  /** A note to show the user (e.g. --net=container:X). */
  note?: string;
  /** A process in the namespace (the container's init), when known. */
  pid?: number;
}

/**
 * A plain namespace made with `ip netns add X` (or any nsfs path): its
 * container id is the namespace's file name, as in the seed's first scenario
 * (CNI_CONTAINERID=1234567890 for /var/run/netns/1234567890), unless given.
 */
export async function netnsTarget(netnsPath: string, containerId?: string, cwd = process.cwd()): Promise<Target> {
  const abs = path.resolve(cwd, netnsPath);
  const id = containerId ?? path.basename(abs);
  try {
    validateContainerId(id);
  } catch {
    throw new UserError(
      `cannot use ${JSON.stringify(id)} as the container id of netns ${abs}: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (pass --id)`,
    );
  }
  try {
    await stat(abs);
  } catch {
    throw new UserError(`network namespace ${abs} does not exist (create it with: ip netns add ${path.basename(abs)})`);
  }
  return {kind: 'netns', containerId: id, name: path.basename(abs), netns: abs};
}

export async function containerTarget(docker: DockerApi, ref: string): Promise<Target> {
  const sb = await lookupSandbox(docker, ref);
  // --net=container:X shares X's namespace: the attachment belongs to X.
  const owner = sb.sharedWith ?? {id: sb.id, name: sb.name};
  return {kind: 'container', containerId: owner.id, name: owner.name, netns: sb.sandboxKey, note: sb.note, pid: sb.pid || undefined};
}
/** The targets of an attach: plain namespaces (--netns), or the named containers looked up in Docker. */
export async function resolveTargets(
  deps: Pick<Deps, 'docker' | 'cwd'>,
  req: {containers: string[]; netns?: string[]; id?: string},
): Promise<Target[]> {
  if (req.netns?.length) {
    if (req.containers.length > 0) throw new UserError('give containers or --netns, not both');
    if (req.id && req.netns.length > 1) throw new UserError('--id goes with a single --netns');
    return Promise.all(req.netns.map((p) => netnsTarget(p, req.id, deps.cwd)));
  }
  if (req.containers.length === 0) throw new UserError('name at least one container (or --netns PATH)');
  if (req.id) throw new UserError('--id goes with --netns only');
  return Promise.all(req.containers.map((c) => containerTarget(deps.docker, c)));
}

/**
 * Refuse a target whose namespace died after it was resolved (the container
 * stopped, the netns was deleted): one clear line instead of an nsenter error,
 * and nothing reserved. Called under the container lock, before any change.
 */
export function assertLiveTarget(t: Target): void {
  if (isLiveNetns(t.netns)) return;
  const who = t.kind === 'container' ? `container ${t.name} is no longer running` : `network namespace ${t.name} was deleted`;
  throw new UserError(`${who} (its network namespace ${t.netns} is gone); nothing was attached`);
}
