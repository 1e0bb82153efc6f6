import {statSync} from 'node:fs';
import path from 'node:path';
import {defaultPaths, type PluginContext, type StatePaths} from './exec/plugin.js';
import {execaRunner} from './exec/runner.js';
import type {Logger} from './util/logger.js';
import {pluginLoader} from './plugins/registry.js';
import {createDockerApi, type DockerApi} from './docker/client.js';
import {createEtcdClient} from './etcd/client.js';
import {hooksFromEnv, type Hooks} from './util/hooks.js';
import {UserError} from './errors.js';

/**
 * The factory: one place that builds the runner, paths, logger, the plugin
 * loader, the etcd client factory and (lazily) the Docker client. Code under src/ receives these; it does not reach for
 * process.env or construct clients itself, so tests can hand it fakes.
 */
export interface Deps extends PluginContext {
  /** Conf dir for --net lookups (NETCONFPATH or /etc/cni/net.d). */
  confDir: string;
  /** Docker Engine API client (DOCKER_HOST); connects on first use. */
  docker: DockerApi;
  /** The directory relative paths of the request are resolved against (the user's, also under the service). */
  cwd: string;
  /** Test hooks (crash and pause points), read from the environment once, here. */
  hooks: Hooks;
}

/** Warnings (and with `verbose` debug lines) to `stderr`, by default process.stderr, reached only when something is written. */
export function stderrLogger(verbose = false, stderr?: {write(s: string): unknown}): Logger {
  const out = (s: string): unknown => (stderr ?? process.stderr).write(s);
  return {
    debug: (m) => {
      if (verbose) out(`${m}\n`);
    },
    warn: (m) => out(`warning: ${m}\n`),
  };
}

/** Timestamped lines to stderr, for a long-running service (the DHCP daemon). */
export function timestampLogger(verbose: boolean, stderr?: {write(s: string): unknown}): Logger {
  const line = (level: string, m: string): void => {
    (stderr ?? process.stderr).write(`${new Date().toISOString()} ${level} ${m}\n`);
  };
  return {debug: (m) => verbose && line('debug', m), warn: (m) => line('warn', m)};
}

/** The environment variable `--state-root` defaults to. */
export const STATE_ROOT_ENV = 'CNI_DOCKER_STATE_ROOT';

/**
 * Every path the tool writes, under `root`: '/' gives the reference's own
 * paths (/var/lib/cni, ...), another root gives a host of its own on the
 * same machine (simulated hosts in tests, a chroot-like layout).
 */
export function statePaths(root: string): StatePaths {
  const under = (p: string): string => path.join(root, p);
  return {
    networksDir: under(defaultPaths.networksDir),
    cacheDir: under(defaultPaths.cacheDir),
    stateDir: under(defaultPaths.stateDir),
    dhcpSocket: under(defaultPaths.dhcpSocket),
  };
}

/**
 * The state root from `--state-root` or CNI_DOCKER_STATE_ROOT ('/' when
 * neither is set), resolved against `cwd`. Anything but '/' must be an
 * existing directory: a mistyped root would otherwise scatter state into a
 * new tree.
 */
export function resolveStateRoot(value: string | undefined, cwd: string): string {
  if (value === undefined || value === '') return '/';
  if (value.includes('\0')) throw new UserError(`invalid state root ${JSON.stringify(value)}`);
  const root = path.resolve(cwd, value);
  if (root === '/') return root;
  let dir = false;
  try {
    dir = statSync(root).isDirectory();
  } catch {
    dir = false;
  }
  if (!dir) throw new UserError(`state root ${root} is not a directory (create it first)`);
  return root;
}

/** The CLI's host-local reservation indexes, in its state dir. */
export function ipamIndexDir(stateDir: string): string {
  return path.join(stateDir, 'ipam-index');
}

export interface DepsOptions extends Partial<Deps> {
  /** `--state-root`; default: env CNI_DOCKER_STATE_ROOT, then '/'. */
  stateRoot?: string;
}

export function makeDeps(overrides: DepsOptions = {}): Deps {
  const env = overrides.env ?? process.env;
  const cwd = overrides.cwd ?? process.cwd();
  const root = resolveStateRoot(overrides.stateRoot ?? env[STATE_ROOT_ENV], cwd);
  const paths: StatePaths = {...statePaths(root), ...(overrides.paths ?? {})};
  return {
    runner: overrides.runner ?? execaRunner(),
    env,
    paths,
    log: overrides.log ?? stderrLogger(Boolean(env.CNI_DOCKER_DEBUG)),
    confDir: path.resolve(cwd, overrides.confDir ?? env.NETCONFPATH ?? '/etc/cni/net.d'),
    docker: overrides.docker ?? createDockerApi(env),
    cwd,
    hooks: overrides.hooks ?? hooksFromEnv(env),
    plugins: overrides.plugins ?? pluginLoader,
    etcdClient: overrides.etcdClient ?? createEtcdClient,
    ipamIndexDir: 'ipamIndexDir' in overrides ? overrides.ipamIndexDir : ipamIndexDir(paths.stateDir),
  };
}
