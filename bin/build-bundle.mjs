#!/usr/bin/env node
// Build step after tsc: bundles the start-up fast path (attach, detach, list,
// --version) into one CommonJS file, dist/fast/fast-path.cjs, which bin/run.cjs
// loads through src/cli/bundle-loader.ts (itself bundled as dist/fast/loader.cjs,
// so the CommonJS entry can require it) with a V8 code cache. One file
// instead of ~60 ES modules, and compiled code reused across runs, is what
// the start-up budget needs; every other command keeps the tsc output.
import {readFile, stat, writeFile} from 'node:fs/promises';
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * ip-num is loaded with createRequire() on first use (src/util/ip-num.ts); in
 * the bundle that becomes a plain require(), which esbuild bundles (lazily
 * initialised), so its code is in the code cache too.
 */
export const IPNUM_LOAD = "createRequire(import.meta.url)('ip-num')";
export function inlineIpNumLoad(src, file = 'ip-num.js') {
  if (!src.includes(IPNUM_LOAD)) throw new Error(`${file}: expected ${IPNUM_LOAD}; update bin/build-bundle.mjs`);
  return src.replace(IPNUM_LOAD, "require('ip-num')");
}

/**
 * ip-num's IPNumber.js builds 13 constants (IPv4.PRIVATE_RANGES,
 * IPv6.LINK_LOCAL_RANGE, ...) by parsing strings when it is first required:
 * about 18 ms of every attach and detach here (node --cpu-prof). We use none
 * of them on the hot path, so the bundle defines each as a getter that builds
 * the value on first read and then stores it, same value, same property.
 */
const STATIC_CONST = /^(IPv4|IPv6)\.([A-Z][A-Z0-9_]*) = ([^;]*);$/gm;
export const IPNUM_CONSTANTS = 13;
export function lazyIpNumConstants(src, file = 'IPNumber.js') {
  let n = 0;
  const out = src.replace(STATIC_CONST, (_m, cls, name, expr) => {
    n++;
    return `__cniLazyStatic(${cls}, ${JSON.stringify(name)}, () => (${expr}));`;
  });
  if (n !== IPNUM_CONSTANTS) throw new Error(`${file}: expected ${IPNUM_CONSTANTS} static constants, found ${n}; update bin/build-bundle.mjs`);
  const helper = 'function __cniLazyStatic(o, k, make) {\n'
    + '  Object.defineProperty(o, k, {configurable: true, enumerable: true, get() {\n'
    + '    const value = make();\n'
    + '    Object.defineProperty(o, k, {value, writable: true, configurable: true, enumerable: true});\n'
    + '    return value;\n'
    + '  }});\n'
    + '}\n';
  return helper + out;
}

const transforms = {
  name: 'cni-docker-start-up',
  setup(b) {
    b.onLoad({filter: /[\\/]dist[\\/]src[\\/]util[\\/]ip-num\.js$/}, async (args) => ({contents: inlineIpNumLoad(await readFile(args.path, 'utf8'), args.path), loader: 'js'}));
    b.onLoad({filter: /[\\/]node_modules[\\/]ip-num[\\/]dist[\\/]src[\\/]IPNumber\.js$/}, async (args) => ({contents: lazyIpNumConstants(await readFile(args.path, 'utf8'), args.path), loader: 'js'}));
  },
};

export async function buildBundle() {
  const {build} = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: ['dist/src/cli/fast-path.js'],
    outfile: 'dist/fast/fast-path.cjs',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // import() of bundled modules and node: builtins become require(): a
    // vm.Script compiled with cached data cannot resolve dynamic imports.
    supported: {'dynamic-import': false},
    // dockerode (grpc, protobuf) is required at run time, on the event-stream
    // and TLS paths only; execa backs execaRunner(), which the CLI does not
    // use; oclif is never reached from the fast path.
    external: ['dockerode', 'execa', '@oclif/core'],
    define: {'import.meta.url': '__cniBundleUrl'},
    banner: {js: 'var __cniBundleUrl = require("node:url").pathToFileURL(__filename).href;'},
    plugins: [transforms],
    logLevel: 'warning',
  });
  // The loader, for bin/run.cjs: CommonJS cannot require the ES module tsc made.
  await build({
    absWorkingDir: root,
    entryPoints: ['dist/src/cli/bundle-loader.js'],
    outfile: 'dist/fast/loader.cjs',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  // What src/cli/bundle-loader.ts checks to tell a bundle left behind by a
  // later tsc run: the mtimes of the bundle and of its tsc entry, as built.
  const mtime = async (p) => (await stat(`${root}/${p}`)).mtimeMs;
  const stampData = {bundle: await mtime('dist/fast/fast-path.cjs'), source: await mtime('dist/src/cli/fast-path.js')};
  await writeFile(`${root}/dist/fast/stamp.json`, `${JSON.stringify(stampData)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildBundle();
