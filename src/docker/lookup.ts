import type {ContainerInfo, ContainerInspectInfo, DockerApi} from './client.js';
import {
  AmbiguousContainerError,
  ContainerNotRunningError,
  DockerApiError,
  HostNetworkError,
  NoSuchContainerError,
  type ContainerRef,
} from './errors.js';

/** A running container's network sandbox: what attach/detach need to enter it. */
export interface Sandbox {
  /** Full 64-hex container Id. */
  id: string;
  /** Container name without the leading "/". */
  name: string;
  /** PID of the container's init process. */
  pid: number;
  /** Path of the network namespace (Docker's SandboxKey, e.g. /var/run/docker/netns/1a2b3c4d5e6f). */
  sandboxKey: string;
  running: boolean;
  /** HostConfig.NetworkMode as Docker reports it: "none", "bridge", "container:<id>", a network name... */
  networkMode: string;
  /** Set for --net=container:X: the container whose namespace this one shares. */
  sharedWith?: ContainerRef;
  /** A human note about how the namespace was resolved. */
  note?: string;
}

const MAX_CONTAINER_HOPS = 5;

/** Resolve a name, full Id or unique Id prefix to the container's network sandbox. */
export async function lookupSandbox(api: DockerApi, ref: string): Promise<Sandbox> {
  return toSandbox(api, await inspectRef(api, ref), 0);
}

/**
 * Docker's own precedence: an exact full Id, then an exact name, then a unique
 * Id prefix. Returns every candidate at the winning level (more than one means
 * the prefix is ambiguous).
 */
export function matchContainers(list: readonly ContainerInfo[], ref: string): ContainerInfo[] {
  const byId = list.filter((c) => c.Id === ref);
  if (byId.length > 0) return byId;
  const name = ref.replace(/^\//, '');
  const byName = list.filter((c) => (c.Names ?? []).some((n) => n.replace(/^\//, '') === name));
  if (byName.length > 0) return byName;
  if (!/^[0-9a-f]+$/.test(ref)) return [];
  return list.filter((c) => c.Id.startsWith(ref));
}

export function containerRef(c: ContainerInfo): ContainerRef {
  const name = (c.Names ?? []).map((n) => n.replace(/^\//, '')).sort((a, b) => a.length - b.length)[0] ?? '';
  return {id: c.Id, name};
}

/**
 * Inspect by reference. The engine resolves names and unique prefixes itself;
 * when it cannot (unknown, or an ambiguous prefix), list the containers and
 * explain with our own matching.
 */
export async function inspectRef(api: DockerApi, ref: string): Promise<ContainerInspectInfo> {
  if (!ref.trim()) throw new NoSuchContainerError('""');
  try {
    return await api.inspectContainer(ref);
  } catch (err) {
    if (!(err instanceof DockerApiError) || ![400, 404, 500].includes(err.statusCode)) throw err;
    const matches = matchContainers(await api.listContainers(true), ref);
    if (matches.length === 0) throw new NoSuchContainerError(ref);
    if (matches.length > 1) throw new AmbiguousContainerError(ref, matches.map(containerRef));
    if (matches[0].Id === ref) throw err;
    return inspectRef(api, matches[0].Id);
  }
}

function trimName(name: string | undefined): string {
  return (name ?? '').replace(/^\//, '');
}

async function toSandbox(api: DockerApi, info: ContainerInspectInfo, hops: number): Promise<Sandbox> {
  const name = trimName(info.Name);
  const networkMode = info.HostConfig?.NetworkMode ?? '';
  const running = Boolean(info.State?.Running);
  if (!running) throw new ContainerNotRunningError(name, info.State?.Status ?? 'unknown');
  if (networkMode === 'host') throw new HostNetworkError(name);
  const base: Sandbox = {
    id: info.Id,
    name,
    pid: info.State.Pid,
    sandboxKey: info.NetworkSettings?.SandboxKey ?? '',
    running,
    networkMode,
  };
  if (!networkMode.startsWith('container:')) {
    if (!base.sandboxKey) throw new ContainerNotRunningError(name, `${info.State.Status}, no network sandbox yet`);
    return base;
  }
  return joinedSandbox(api, base, networkMode.slice('container:'.length), hops);
}

/** --net=container:X: the namespace is X's. Errors name both containers. */
async function joinedSandbox(api: DockerApi, self: Sandbox, ownerRef: string, hops: number): Promise<Sandbox> {
  if (hops >= MAX_CONTAINER_HOPS) throw new NoSuchContainerError(`${ownerRef} (too many --net=container: hops)`);
  const ownerInfo = await inspectRef(api, ownerRef).catch((err: unknown) => {
    if (err instanceof NoSuchContainerError) {
      throw new NoSuchContainerError(`${ownerRef} (whose network namespace ${self.name} shares)`);
    }
    throw err;
  });
  const ownerName = trimName(ownerInfo.Name);
  const context = `, and ${self.name} shares its network namespace (--net=container:${ownerName})`;
  if (!ownerInfo.State?.Running) throw new ContainerNotRunningError(ownerName, ownerInfo.State?.Status ?? 'unknown', context);
  if (ownerInfo.HostConfig?.NetworkMode === 'host') throw new HostNetworkError(ownerName, context);
  const owner = await toSandbox(api, ownerInfo, hops + 1);
  const sharedWith = owner.sharedWith ?? {id: owner.id, name: owner.name};
  return {
    ...self,
    sandboxKey: owner.sandboxKey,
    sharedWith,
    note: `${self.name} uses --net=container:${ownerName}: this is ${sharedWith.name}'s network namespace, so changes affect both`,
  };
}
