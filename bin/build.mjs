#!/usr/bin/env node
// Build step after tsc: bundles the whole CLI (oclif, the commands, dockerode,
// execa, chalk, ip-num and src/) into one CommonJS file, dist/cni-docker.cjs,
// which bin/run.cjs loads. One file to read and compile (with a V8 code cache)
// instead of hundreds of modules to resolve is what keeps a command's start
// short; package.json's `oclif.commands` points oclif's explicit command
// discovery at the same file.
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Dependencies of dockerode and docker-modem that a command never needs at
 * start: gRPC (dockerode's BuildKit sessions), tar-fs (image builds and
 * archives) and ssh2 (an ssh:// DOCKER_HOST, with optional native add-ons).
 * They stay out of the bundle; each is loaded from node_modules the first
 * time it is really used.
 */
const LAZY = {
  '@grpc/grpc-js': 'proxy',
  '@grpc/proto-loader': 'proxy',
  'tar-fs': 'proxy',
  ssh2: 'constructors',
};

function lazyModule(name, kind) {
  const load = `let real;\nconst load = () => (real ??= require('node:module').createRequire(__filename)(${JSON.stringify(name)}));\n`;
  if (kind === 'proxy') return `${load}module.exports = new Proxy({}, {get: (_t, key) => load()[key]});\n`;
  // docker-modem reads ssh2's Client when it loads: hand it a constructor that loads ssh2 when called.
  return `${load}exports.Client = function Client(...args) { return new (load().Client)(...args); };\n`;
}

const lazyDependencies = {
  name: 'lazy-dependencies',
  setup(b) {
    const filter = new RegExp(
      `^(${Object.keys(LAZY)
        .map((n) => n.replace(/[/.-]/g, '\\$&'))
        .join('|')})$`,
    );
    b.onResolve({filter}, (args) => ({path: args.path, namespace: 'lazy'}));
    b.onLoad({filter: /.*/, namespace: 'lazy'}, (args) => ({contents: lazyModule(args.path, LAZY[args.path]), loader: 'js'}));
  },
};

export const BUNDLE = 'dist/cni-docker.cjs';

export async function build() {
  const {build: esbuild} = await import('esbuild');
  await esbuild({
    absWorkingDir: root,
    entryPoints: ['dist/src/cli/entry.js'],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    keepNames: true,
    sourcemap: 'external',
    // import() becomes a lazily initialised require() inside the bundle: the
    // modules a command imports in run() are evaluated only by that command.
    supported: {'dynamic-import': false},
    define: {'import.meta.url': '__cniBundleUrl'},
    banner: {js: 'var __cniBundleUrl = require("node:url").pathToFileURL(__filename).href;'},
    // oclif reads tsconfig.json with TypeScript only in development mode.
    // undici (etcd over TLS only, src/etcd/transport.ts) is imported inside a
    // function: external, it loads from node_modules on that first request.
    external: ['typescript', 'undici'],
    plugins: [lazyDependencies],
    logLevel: 'warning',
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await build();
