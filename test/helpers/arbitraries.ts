import fc from 'fast-check';
import {mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import {CniError, ErrorCode, toCniError} from '../../src/cni/errors.js';
import type {CmdArgs} from '../../src/cni/types.js';
import type {PluginContext} from '../../src/exec/plugin.js';
import {pluginLoader} from '../../src/plugins/registry.js';
import {FakeRunner} from './fake-runner.js';
import {noEtcd} from './fake-etcd.js';

/**
 * Hostile and random input for the hardening properties (SECURITY.md): every
 * such input is refused with a one-line CNI error, and a plugin given one
 * runs no command and writes no file. Each module's unit test file holds the
 * properties of that module, in a describe block named "hardening: ...".
 */

/** Generated cases per property (the issue asks for at least 1,000 per target). */
export const RUNS = 1000;

/** Characters that must never reach a file path, an ip/iptables argv or a CNI_ARGS pair unvalidated. */
export const BAD_PIECES = [
  '\n',
  '\r',
  ' ',
  '\t',
  ';',
  '"',
  "'",
  '/',
  '..',
  '\0',
  '$(',
  '`',
  '\\',
  ':',
  '*',
  '\u00a0',
  '\u2028',
  '\ud800',
  '\uffff',
  '=',
  ',',
];

/** A string with at least one hostile piece somewhere in it. */
export const hostile: fc.Arbitrary<string> = fc
  .tuple(fc.string({maxLength: 6}), fc.constantFrom(...BAD_PIECES), fc.string({maxLength: 6}))
  .map(([a, b, c]) => `${a}${b}${c}`);

/** Names (network, container id) that start well but carry a piece the reference's name rule refuses. */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.string({maxLength: 6}), fc.constantFrom(...BAD_PIECES.filter((p) => p !== '..')), fc.string({maxLength: 6}))
    .map(([a, b, c]) => `thd${a}${b}${c}`),
  fc.constantFrom('.', '..', '-x', '_x', '../../etc', 'a/../../b', '', ' ', 'x\ny'),
  // non-UTF-8 bytes as a Buffer decodes them (U+FFFD) and raw high code points
  fc.uint8Array({minLength: 1, maxLength: 8}).map((b) => `thd${Buffer.from([0xff, ...b]).toString('utf8')}`),
);

/** Interface names the reference refuses: '/', ':' or whitespace anywhere, '.', '..', empty. */
export const hostileIfname: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.string({maxLength: 4}),
      fc.constantFrom('/', ':', ' ', '\n', '\t', '\r', '\v', '\f', '\u00a0', '\u2028', '\u3000'),
      fc.string({maxLength: 4}),
    )
    .map(([a, b, c]) => `e${a}${b}${c}`),
  fc.constantFrom('.', '..', '../x', 'a/b'),
);

/** Longer than IFNAMSIZ - 1 bytes (ASCII or multibyte). */
export const oversizedIfname: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9]{15,40}$/),
  fc.constantFrom('thd\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9'),
);

/** Any JSON value (wrong types for a field). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({noNaN: true, noDefaultInfinity: true}),
  fc.boolean(),
  fc.constant(null),
  fc.string({maxLength: 5}),
  fc.array(fc.integer(), {maxLength: 3}),
  fc.dictionary(fc.string({maxLength: 3}), fc.integer(), {maxKeys: 2}),
);

/** Arbitrary text that is sometimes JSON-ish, sometimes not. */
export const junkText: fc.Arbitrary<string> = fc.oneof(
  fc.string({maxLength: 200}),
  fc.json({maxDepth: 4}),
  fc.jsonValue({maxDepth: 3}).map((v) => JSON.stringify(v)),
  fc.uint8Array({maxLength: 100}).map((b) => Buffer.from(b).toString('utf8')),
);

/** `[[[[...]]]]` or `{"a":{"a":...}}` nested DEPTH deep. */
export function deepJson(depth: number, obj: boolean): string {
  return obj ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** A CNI error that could be printed as one line: a code we allow and a message without a newline. */
export function assertOneLineCniError(err: unknown, codes: number[]): CniError {
  if (!(err instanceof CniError)) throw new Error(`not a CniError: ${String(err)}`);
  if (!codes.includes(err.code as number)) throw new Error(`code ${err.code} not in ${codes.join('/')}: ${err.message}`);
  if (/[\n\r]/.test(err.message)) throw new Error(`message is not one line: ${JSON.stringify(err.message)}`);
  return err;
}

/**
 * A plugin context whose runner fails on any command and whose state dirs are
 * empty temp dirs. By default a command is also reported as unexpected at the
 * end of the test; a property that lets valid input reach a first command
 * passes FakeRunner.refusing and checks `runner.calls` itself.
 */
export interface Sandbox {
  ctx: PluginContext;
  runner: FakeRunner;
  root: string;
  /** Every file or directory created under the temp state dirs. */
  leftovers(): string[];
  cleanup(): void;
}

export function sandbox(makeRunner: () => FakeRunner = FakeRunner.none): Sandbox {
  const root = mkdtempSync(path.join(tmpdir(), 'thd-prop-'));
  const runner = makeRunner();
  const paths = {
    networksDir: path.join(root, 'networks'),
    cacheDir: path.join(root, 'cache'),
    stateDir: path.join(root, 'state'),
    dhcpSocket: path.join(root, 'dhcp.sock'),
  };
  const ctx: PluginContext = {
    runner,
    log: {debug: () => undefined, warn: () => undefined},
    paths,
    env: {},
    plugins: pluginLoader,
    etcdClient: noEtcd,
  };
  return {
    ctx,
    runner,
    root,
    leftovers: () => readdirSync(root, {recursive: true}).map(String),
    cleanup: () => rmSync(root, {recursive: true, force: true}),
  };
}

/** Run `body` on a fresh sandbox (with a runner from `makeRunner`) for each generated value, RUNS times. */
export function prop<T>(arb: fc.Arbitrary<T>, body: (box: Sandbox, v: T) => Promise<void>, makeRunner?: () => FakeRunner): Promise<void> {
  return fc.assert(
    fc.asyncProperty(arb, async (v) => {
      const box = sandbox(makeRunner);
      try {
        await body(box, v);
      } finally {
        box.cleanup();
      }
    }),
    {numRuns: RUNS},
  );
}

/** The container namespace the hardening properties name (never created: nothing may reach it). */
export const NETNS = '/var/run/netns/thd-prop-none';

/** A bridge config of the network the properties use. */
export function bridgeConf(extra: Record<string, unknown>): string {
  return JSON.stringify({cniVersion: '1.0.0', name: 'thdnet', type: 'bridge', bridge: 'thdbr0', ...extra});
}

/** A host-local IPAM section storing under the sandbox. */
export function hostLocalIpam(box: Sandbox, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'host-local', subnet: '10.217.0.0/24', dataDir: `${box.root}/data`, ...extra};
}

export function cmdArgs(stdin: string, args = ''): CmdArgs {
  return {containerId: 'thdctr', netns: NETNS, ifname: 'eth1', args, path: ['/usr/lib/cni'], stdin};
}

/** ADD must be refused with a one-line CNI error of one of `codes`, no command run and no file created. */
export async function refusedByAdd(box: Sandbox, add: (a: CmdArgs) => Promise<unknown>, args: CmdArgs, codes: number[]): Promise<void> {
  await add(args).then(
    () => assert.fail('accepted'),
    (err: unknown) => assertOneLineCniError(err, codes),
  );
  assert.deepEqual(box.runner.calls, [], 'a command ran');
  assert.deepEqual(box.leftovers(), [], 'a file was created');
}

/** Link names the kernel refuses (non-ASCII spaces are valid link names, as for the reference). */
export const kernelHostile = fc.oneof(
  hostileIfname.filter((n) => !/^e[^\u00a0\u2028\u3000]*[\u00a0\u2028\u3000][^\u00a0\u2028\u3000]*$/.test(n)),
  oversizedIfname,
);

/** A parse must succeed or throw a one-line CNI error of one of `codes`. */
export function parsesOrRefuses(fn: () => unknown, codes: number[]): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(err, codes);
  }
}

/** A parse must throw a one-line CNI error of one of `codes`. */
export function refusedWith(fn: () => unknown, codes: number[]): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(err, codes);
    return;
  }
  throw new Error('accepted');
}

/** A plugin's own parseConf throws plain or CNI errors; the skel prints them as toCniError does. */
export function pluginParse(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assertOneLineCniError(toCniError(err), [ErrorCode.Internal, ErrorCode.InvalidNetworkConfig]);
  }
}
