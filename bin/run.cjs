#!/usr/bin/env node
'use strict';
// The Node entry of cni-docker (bin/cni-docker starts it). It loads the one
// bundle of the CLI, dist/cni-docker.cjs (bin/build.mjs), with V8's compiled
// code kept between runs, and hands argv to oclif inside that bundle.
//
// Node 22 and later keep compiled code themselves (module.enableCompileCache).
// On Node 20 the bundle is compiled through vm.Script with cachedData; the
// cache is named after the bundle's size and mtime (what V8 checks is only the
// source length) and Node's command-line flags (V8 rejects a cache made under
// other flags: the launcher's and the plugin executables' each keep their
// own), lives under $XDG_CACHE_HOME (not the install directory),
// and is rewritten after a command it did not cover yet, since V8 stores the
// functions compiled so far. Any cache failure only costs time.
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.join(__dirname, '..', 'dist', 'cni-docker.cjs');
const cacheDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cni-docker');

/** Evaluate the bundle from cached code and register it where oclif's require() finds it. */
function loadWithCodeCache() {
  const source = fs.readFileSync(bundle, 'utf8');
  const st = fs.statSync(bundle);
  const flags = Buffer.from(process.execArgv.join(' ')).toString('base64url').slice(0, 40);
  const build = `cni-docker-${st.size}-${Math.trunc(st.mtimeMs)}-`;
  const cacheFile = path.join(cacheDir, `${build}${process.version}${flags && `-${flags}`}.v8`);
  const coveredFile = `${cacheFile}.json`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), {filename: bundle, cachedData});
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(path.dirname(bundle));
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  mod.loaded = true;
  // oclif require()s the explicit command target, this same file: without this it would be evaluated twice.
  require.cache[bundle] = mod;
  const used = cachedData !== undefined && !script.cachedDataRejected;
  const save = (command) => {
    try {
      const covered = used ? JSON.parse(fs.readFileSync(coveredFile, 'utf8')) : [];
      if (covered.includes(command)) return;
      fs.mkdirSync(cacheDir, {recursive: true});
      // A new cache: those of earlier builds will not be read again.
      if (!used)
        for (const f of fs.readdirSync(cacheDir))
          if (f.startsWith('cni-docker-') && !f.startsWith(build)) fs.rmSync(path.join(cacheDir, f), {force: true});
      for (const [file, data] of [
        [cacheFile, script.createCachedData()],
        [coveredFile, JSON.stringify([...covered, command])],
      ]) {
        const tmp = `${file}.${process.pid}`;
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, file);
      }
    } catch {
      // a read-only home or a full disk: the next run compiles again
    }
  };
  return {exports: mod.exports, save};
}

function load() {
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(cacheDir);
    return {exports: require(bundle), save: () => {}};
  }
  return loadWithCodeCache();
}

const cli = load();
const command = process.argv[2];
cli.exports.execute({dir: bundle}).then(() => {
  if (command && Object.hasOwn(cli.exports.COMMANDS, command)) cli.save(command);
});
