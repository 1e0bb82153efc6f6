#!/usr/bin/env node
'use strict';
// The Node entry of cni-docker (bin/cni-docker starts it). CommonJS, so the
// hot commands do not wait for the ES module loader (~10 ms per start here).
// --version is answered by the bundle loader alone; attach, detach and list
// (ls) run from the start-up bundle with a
// V8 code cache (src/cli/bundle-loader.ts, src/cli/fast-path.ts); anything
// else, or a build without the bundle, goes through oclif and the compiled
// modules.

// bin/cni-docker set NODE_EXTRA_CA_CERTS aside for Node's start: put it back
// for the processes we start.
const saved = process.env.CNI_DOCKER_SAVED_CA_CERTS;
if (saved !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = saved;
  delete process.env.CNI_DOCKER_SAVED_CA_CERTS;
}

const path = require('node:path');
const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);

/** The bundle loader, built beside the bundle; a tsc-only build has none. */
function bundleLoader() {
  try {
    return require('../dist/fast/loader.cjs');
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function main() {
  const loader = bundleLoader();
  if (loader && argv.length === 1 && argv[0] === '--version' && !process.env.CNI_DOCKER_NO_FAST) {
    // write(2) on fd 1: process.stdout would build a stream first (~9 ms).
    require('node:fs').writeSync(1, loader.versionText(root));
    return;
  }
  const bundle = loader?.loadBundle(root);
  const {runFast} = bundle ? bundle.mod : await import('../dist/src/cli/fast-path.js');
  if (await runFast(argv, root)) {
    bundle?.saveCache(argv[0]);
    return;
  }
  const {execute} = await import('@oclif/core');
  await execute({dir: __filename});
}

main();
