import {readFileSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import {versionLine} from './version.js';

/**
 * Loads the start-up bundle (dist/fast/fast-path.cjs, made by
 * bin/build-bundle.mjs) through vm.Script with a V8 code cache kept beside it,
 * so a run of `attach`/`detach` neither resolves ~60 modules nor compiles them
 * again. Node 20 has no module.enableCompileCache(); this is the same idea
 * for one file.
 *
 * The cache is written after a command that it did not yet cover (V8 puts
 * every function compiled so far into the cache, so after one `attach` and one
 * `detach` it holds both paths), and again whenever V8 rejects it (new bundle,
 * Node or V8 flags). Writes go through a temporary file and rename(2);
 * failures (read-only install) are ignored: the cache only saves time.
 */
export interface FastModule {
  runFast(argv: string[], rootDir: string, env?: NodeJS.ProcessEnv): Promise<boolean>;
}

export interface LoadedBundle {
  mod: FastModule;
  /** Whether V8 took the cached code (false: none, or rejected). */
  cacheUsed: boolean;
  /** Store the compiled code for next time if this command is not covered yet. */
  saveCache(command: string): void;
}

export const BUNDLE = path.join('dist', 'fast', 'fast-path.cjs');
/** The tsc output the bundle is made from. */
export const SOURCE = path.join('dist', 'src', 'cli', 'fast-path.js');
/** mtimes of BUNDLE and SOURCE when the bundle was built (bin/build-bundle.mjs). */
export const STAMP = path.join('dist', 'fast', 'stamp.json');

/**
 * Whether the bundle is behind the compiled modules. In the tree it was built
 * in, the bundle keeps its stamped mtime, and a tsc run since (which rewrites
 * every output) changed the source's: stale. A copied or installed tree (npm
 * pack, npm install) has new mtimes on both, in no useful order; it was built
 * as a whole (prepack), so the bundle is taken. No stamp: not ours, stale.
 */
export function bundleIsStale(rootDir: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(path.join(rootDir, STAMP), 'utf8')) as {bundle?: number; source?: number};
    if (statSync(path.join(rootDir, BUNDLE)).mtimeMs !== stamp.bundle) return false;
    return statSync(path.join(rootDir, SOURCE)).mtimeMs !== stamp.source;
  } catch {
    return true;
  }
}

/**
 * `--version`, answered by bin/run.cjs from this small module without loading
 * the bundle (~10 ms here): the package's name and version, as oclif prints them.
 */
export function versionText(rootDir: string): string {
  const pkg = JSON.parse(readFileSync(path.join(rootDir, 'package.json'), 'utf8')) as {name: string; version: string};
  return `${versionLine(pkg)}\n`;
}

interface Manifest {
  commands: string[];
}

function readManifest(file: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    return Array.isArray(m.commands) ? m : {commands: []};
  } catch {
    return {commands: []};
  }
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The bundle with its cache, or undefined when there is no usable bundle (plain tsc build). */
export function loadBundle(rootDir: string, env: NodeJS.ProcessEnv = process.env): LoadedBundle | undefined {
  if (env.CNI_DOCKER_NO_BUNDLE) return undefined;
  // A tsc run after the last bundle build leaves the bundle behind the sources: use the modules.
  if (bundleIsStale(rootDir)) return undefined;
  const file = path.join(rootDir, BUNDLE);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const cacheFile = `${file}.v8cache`;
  const manifestFile = `${cacheFile}.json`;
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  let script: vm.Script;
  const module = {exports: {} as Partial<FastModule>};
  try {
    script = new vm.Script(wrapper, {filename: file, cachedData: cached});
    const fn = script.runInThisContext() as (e: object, r: NodeJS.Require, m: {exports: object}, f: string, d: string) => void;
    fn(module.exports, createRequire(file), module, file, path.dirname(file));
  } catch {
    // A damaged bundle (interrupted build): the compiled modules do the same work.
    return undefined;
  }
  if (typeof module.exports.runFast !== 'function') return undefined;
  const cacheUsed = cached !== undefined && !script.cachedDataRejected;
  return {
    mod: module.exports as FastModule,
    cacheUsed,
    saveCache(command: string): void {
      const manifest = cacheUsed ? readManifest(manifestFile) : {commands: []};
      if (cacheUsed && manifest.commands.includes(command)) return;
      try {
        writeAtomic(cacheFile, script.createCachedData());
        writeAtomic(manifestFile, JSON.stringify({commands: [...manifest.commands, command].sort()}));
      } catch {
        // read-only install or full disk: run without a cache
      }
    },
  };
}
