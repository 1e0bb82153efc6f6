import path from 'node:path';
import {defaultPaths, type PluginContext, type StatePaths} from './exec/plugin.js';
import {execaRunner} from './exec/runner.js';
import type {Logger} from './util/logger.js';
import {pluginLoader} from './plugins/registry.js';
import {createDockerApi, type DockerApi} from './docker/client.js';
import {hooksFromEnv, type Hooks} from './util/hooks.js';

/**
 * The factory: one place that builds the runner, paths, logger, the plugin
 * loader and (lazily) the Docker client. Code under src/ receives these; it does not reach for
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

export function makeDeps(overrides: Partial<Deps> = {}): Deps {
  const env = overrides.env ?? process.env;
  const cwd = overrides.cwd ?? process.cwd();
  const paths: StatePaths = {...defaultPaths, ...(overrides.paths ?? {})};
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
  };
}
