/**
 * Helpers for integration tests that need the real Docker engine: a loud
 * preflight (root, engine, test image, reference plugins) and containers from
 * the local test image that are always removed.
 */
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {promisify} from 'node:util';

const execFileP = promisify(execFile);

export const TEST_IMAGE = 'cni-docker/busybox:test';
export const REFERENCE_PLUGINS = '/usr/lib/cni';
const SETUP_HINT = 'run `sudo bin/setup` on this machine, then run the tests as root (`sudo npm test`)';

/** Run the docker CLI; resolves trimmed stdout, rejects with its stderr. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const {stdout} = await execFileP('docker', args, {maxBuffer: 16 * 1024 * 1024});
    return stdout.trim();
  } catch (err) {
    const e = err as Error & {stderr?: string; code?: string | number};
    if (e.code === 'ENOENT') throw new Error(`the docker CLI is not installed: ${SETUP_HINT}`);
    throw new Error(`docker ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

export function assertRoot(): void {
  if (process.getuid?.() !== 0) throw new Error(`integration tests need root (uid ${process.getuid?.()}): ${SETUP_HINT}`);
}

export async function assertDockerReachable(): Promise<void> {
  try {
    await docker('info', '--format', '{{.ServerVersion}}');
  } catch (err) {
    throw new Error(`the Docker engine is not reachable (${(err as Error).message}): ${SETUP_HINT}`);
  }
}

export async function assertTestImage(): Promise<void> {
  try {
    await docker('image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE);
  } catch (err) {
    throw new Error(`the test image ${TEST_IMAGE} is not available (${(err as Error).message}): ${SETUP_HINT}`);
  }
}

export function assertReferencePlugins(): void {
  for (const p of ['bridge', 'macvlan', 'host-local', 'dhcp']) {
    if (!existsSync(`${REFERENCE_PLUGINS}/${p}`)) {
      throw new Error(`reference plugin ${REFERENCE_PLUGINS}/${p} is missing (package containernetworking-plugins): ${SETUP_HINT}`);
    }
  }
}

/** Everything an integration test with containers needs; throws (never skips) with the fix. */
export async function assertDockerTestBed(): Promise<void> {
  assertRoot();
  await assertDockerReachable();
  await assertTestImage();
}

export interface TestContainer {
  id: string;
  name: string;
}

export interface RunOptions {
  /** --net value; default "none". */
  net?: string;
  /** Suffix for the generated name. */
  suffix?: string;
  /** Command; default `sleep 3600`. */
  cmd?: string[];
  /** Create without starting (status "created"). */
  createOnly?: boolean;
}

/**
 * Containers for one test file. Names are `<prefix><random>-<suffix>` so that
 * parallel suites never collide; `removeAll()` (call it in `after`) force-removes
 * every container this instance created.
 */
export class TestContainers {
  private readonly created: TestContainer[] = [];
  private readonly tag = randomBytes(3).toString('hex');

  constructor(private readonly prefix: string) {}

  async run(options: RunOptions = {}): Promise<TestContainer> {
    const name = `${this.prefix}${this.tag}-${options.suffix ?? this.created.length}`;
    const cmd = options.cmd ?? ['sleep', '3600'];
    const verb = options.createOnly ? ['create'] : ['run', '-d'];
    // Record the name first: a failed start must still be cleaned up.
    const entry = {id: '', name};
    this.created.push(entry);
    entry.id = await docker(...verb, '--name', name, `--net=${options.net ?? 'none'}`, TEST_IMAGE, ...cmd);
    return entry;
  }

  async inspect(
    nameOrId: string,
  ): Promise<{Id: string; Name: string; State: {Pid: number; Running: boolean; Status: string}; NetworkSettings: {SandboxKey: string}}> {
    return JSON.parse(await docker('inspect', '--type', 'container', nameOrId))[0];
  }

  async removeAll(): Promise<void> {
    // Dependants (--net=container:X) first: remove in reverse creation order.
    const names = this.created
      .splice(0)
      .reverse()
      .map((c) => c.name);
    if (names.length === 0) return;
    await execFileP('docker', ['rm', '-f', ...names]).catch(() => undefined);
    const left = await docker('ps', '-aq', ...names.flatMap((n) => ['--filter', `name=^/${n}$`]));
    if (left) throw new Error(`test containers were not removed: ${names.join(' ')}`);
  }
}
