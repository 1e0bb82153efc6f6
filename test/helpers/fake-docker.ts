import type {ContainerInfo, ContainerInspectInfo, DockerApi} from '../../src/docker/client.js';
import {DockerApiError} from '../../src/docker/errors.js';

/** A container as the fake engine knows it. */
export interface FakeContainer {
  id: string;
  name: string;
  running?: boolean;
  status?: string;
  pid?: number;
  networkMode?: string;
  sandboxKey?: string;
}

export const hexId = (lead: string): string => (lead + '0'.repeat(64)).slice(0, 64);

/**
 * An in-memory DockerApi that resolves references the way dockerd 20.10 does:
 * full Id, then exact name, then unique Id prefix (404 unknown, 500 ambiguous).
 */
export class FakeDocker implements DockerApi {
  readonly endpoint = 'unix:///fake.sock';
  readonly calls: string[] = [];

  constructor(private readonly containers: FakeContainer[]) {}

  async inspectContainer(ref: string): Promise<ContainerInspectInfo> {
    this.calls.push(`inspect ${ref}`);
    const byId = this.containers.find((c) => c.id === ref);
    const byName = this.containers.find((c) => c.name === ref.replace(/^\//, ''));
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? this.containers.filter((c) => c.id.startsWith(ref)) : [];
    if (!byId && !byName && byPrefix.length > 1) throw new DockerApiError(500, `Multiple IDs found with provided prefix: ${ref}`);
    const c = byId ?? byName ?? byPrefix[0];
    if (!c) throw new DockerApiError(404, `No such container: ${ref}`);
    const running = c.running ?? true;
    return {
      Id: c.id,
      Name: `/${c.name}`,
      State: {Running: running, Status: c.status ?? (running ? 'running' : 'exited'), Pid: running ? (c.pid ?? 4242) : 0},
      HostConfig: {NetworkMode: c.networkMode ?? 'none'},
      NetworkSettings: {
        SandboxKey:
          c.sandboxKey ?? (running && !c.networkMode?.startsWith('container:') ? `/var/run/docker/netns/${c.id.slice(0, 12)}` : ''),
      },
    } as unknown as ContainerInspectInfo;
  }

  async listContainers(all: boolean): Promise<ContainerInfo[]> {
    this.calls.push(`list all=${all}`);
    return this.containers
      .filter((c) => all || (c.running ?? true))
      .map((c) => ({Id: c.id, Names: [`/${c.name}`]}) as unknown as ContainerInfo);
  }
}
