#!/usr/bin/env node
// Hot commands (--version, attach, detach, list) skip oclif's start-up (src/cli/fast-path.ts),
// from one bundle with a V8 code cache when the build made one (src/cli/bundle-loader.ts).
import {fileURLToPath} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const {loadBundle} = await import('../dist/src/cli/bundle-loader.js');
const bundle = loadBundle(root);
const {runFast} = bundle ? bundle.mod : await import('../dist/src/cli/fast-path.js');
if (await runFast(argv, root)) {
  bundle?.saveCache(argv[0]);
} else {
  const {execute} = await import('@oclif/core');
  await execute({dir: import.meta.url});
}
