import {readFileSync} from 'node:fs';
import type {Deps} from '../deps.js';
import {versionLine} from './version.js';
import {fdStream} from './stdio.js';

/**
 * The start-up fast path: `--version`, `attach`, `detach` and `list` (`ls`) run without
 * loading oclif (≈150 ms of imports, plus a glob-and-import of every command
 * file when there is no oclif.manifest.json). It takes only plain invocations
 * of known flags; anything else (help, unknown or malformed flags, flag
 * combinations oclif validates such as --conf with --net) returns false, and
 * bin/run.cjs hands the same argv to oclif, which owns every error message of
 * its parser. `CNI_DOCKER_NO_FAST=1` always goes through oclif.
 */
export type FlagKind = 'string' | 'multiple' | 'boolean';

export interface FastCommand {
  flags: Record<string, FlagKind>;
  /** Flag pairs oclif rejects together; the fast path leaves them to oclif. */
  exclusive: [string, string][];
  /** Flag -> flag it requires. */
  dependsOn: Record<string, string>;
}

const common: Record<string, FlagKind> = {conf: 'string', net: 'string', 'conf-dir': 'string', netns: 'string', id: 'string', ifname: 'string', json: 'boolean'};

export type FastId = 'attach' | 'detach' | 'list';

/** Aliases oclif knows for the fast commands. */
const ALIASES: Record<string, FastId> = {attach: 'attach', detach: 'detach', list: 'list', ls: 'list'};

export const FAST_COMMANDS: Record<FastId, FastCommand & {maxArgs?: number}> = {
  attach: {
    flags: {...common, ip: 'string', mac: 'string', args: 'multiple', persist: 'boolean', 'dry-run': 'boolean'},
    exclusive: [['conf', 'net']],
    dependsOn: {id: 'netns'},
  },
  detach: {
    flags: {...common, all: 'boolean'},
    exclusive: [['conf', 'net']],
    dependsOn: {id: 'netns'},
  },
  // list takes no arguments: with any, oclif says so.
  list: {flags: {container: 'string', net: 'string', json: 'boolean'}, exclusive: [], dependsOn: {}, maxArgs: 0},
};

export interface Parsed {
  args: string[];
  flags: Record<string, string | string[] | boolean | undefined>;
}

/** Parse argv (after the command id) the way oclif would, or undefined to defer to oclif. */
export function parseFast(cmd: FastCommand, argv: string[]): Parsed | undefined {
  const out: Parsed = {args: [], flags: {}};
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      out.args.push(tok);
      continue;
    }
    if (!tok.startsWith('--')) return undefined;
    const eq = tok.indexOf('=');
    const name = eq > 0 ? tok.slice(2, eq) : tok.slice(2);
    const kind = cmd.flags[name];
    if (!kind) return undefined;
    if (kind === 'boolean') {
      if (eq > 0 || out.flags[name] !== undefined) return undefined;
      out.flags[name] = true;
      continue;
    }
    let value: string;
    if (eq > 0) value = tok.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) return undefined;
      value = argv[++i];
    }
    if (value === '' || value.startsWith('-')) return undefined;
    if (kind === 'multiple') out.flags[name] = [...((out.flags[name] as string[] | undefined) ?? []), value];
    else if (out.flags[name] !== undefined) return undefined;
    else out.flags[name] = value;
  }
  for (const [a, b] of cmd.exclusive) if (out.flags[a] !== undefined && out.flags[b] !== undefined) return undefined;
  for (const [f, needs] of Object.entries(cmd.dependsOn)) if (out.flags[f] !== undefined && out.flags[needs] === undefined) return undefined;
  return out;
}

export {versionLine} from './version.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What one run of attach, detach or list yields: the --json payload, the text to print, and whether it failed. */
export interface CommandOutput {
  payload: unknown;
  out: string[];
  err: string[];
  failed: boolean;
  /** Written as is (the list table), before `out`. */
  text?: string;
}

/** Where one run's output goes and what it runs with: this process's, or a service client's. */
export interface CommandIO {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: {write(s: string): unknown; isTTY?: boolean};
  stderr: {write(s: string): unknown};
  /** Deps the caller supplies (the service: a Docker client on its shared connection). */
  deps?: Partial<Deps>;
}

/** This process's environment, directory and output (fds 1 and 2 written directly: src/cli/stdio.ts). */
export function processIO(env: NodeJS.ProcessEnv = process.env): CommandIO {
  return {env, cwd: process.cwd(), stdout: fdStream(1), stderr: fdStream(2)};
}

/**
 * Run attach, detach or list from parsed args and flags: the one mapping of
 * flags to a request and of the outcome to output, shared by this fast path,
 * the service (src/service/server.ts) and the oclif commands
 * (commands/attach.ts, detach.ts, list.ts). `stdout` decides the list format
 * (a table on a terminal).
 */
export async function runCommand(id: FastId, p: Parsed, deps: Deps, stdout: {isTTY?: boolean} = process.stdout): Promise<CommandOutput> {
  const f = p.flags;
  const render = await import('./render-outcome.js');
  const json = f.json === true;
  if (id === 'list') {
    const {listAttachments} = await import('../runtime/list.js');
    const rows = await listAttachments(deps, {container: str(f.container), net: str(f.net)});
    return {payload: rows, out: [], err: [], failed: false, text: json ? undefined : await render.listText(rows, stdout, deps.env)};
  }
  const base = {containers: p.args, netns: str(f.netns), id: str(f.id), conf: str(f.conf), net: str(f.net), ifname: str(f.ifname)};
  // Ask Docker first: it answers while the attach/detach code loads.
  if (!base.netns && base.containers.length > 0) (await import('../runtime/target.js')).prefetchTargets(deps.docker, base.containers);
  if (id === 'attach') {
    const {attach} = await import('../runtime/attach.js');
    const o = await attach(deps, {...base, ip: str(f.ip), mac: str(f.mac), args: f.args as string[] | undefined, persist: f.persist === true, dryRun: f['dry-run'] === true});
    return {payload: o, ...render.attachLines(o, json), failed: o.failures.length > 0};
  }
  const {detach} = await import('../runtime/detach.js');
  const o = await detach(deps, {...base, all: f.all === true});
  return {payload: o, ...render.detachLines(o, json), failed: o.failures.length > 0};
}

/** Run argv on the fast path; false when oclif must handle it (nothing has been done then). */
export async function runFast(argv: string[], rootDir: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const code = await runFastIO(argv, rootDir, processIO(env));
  if (code === undefined) return false;
  if (code !== 0) process.exitCode = code;
  return true;
}

/** The fast path against `io`: the exit status, or undefined when oclif must handle argv (nothing has been done then). */
export async function runFastIO(argv: string[], rootDir: string, io: CommandIO): Promise<number | undefined> {
  const env = io.env;
  if (env.CNI_DOCKER_NO_FAST) return undefined;
  if (argv.length === 1 && argv[0] === '--version') {
    const pkg = JSON.parse(readFileSync(`${rootDir}/package.json`, 'utf8')) as {name: string; version: string};
    io.stdout.write(`${versionLine(pkg)}\n`);
    return 0;
  }
  const id = ALIASES[argv[0]];
  if (!id) return undefined;
  const parsed = parseFast(FAST_COMMANDS[id], argv.slice(1));
  if (!parsed) return undefined;
  const max = FAST_COMMANDS[id].maxArgs;
  if (max !== undefined && parsed.args.length > max) return undefined;
  const json = parsed.flags.json === true;
  const {makeDeps, stderrLogger} = await import('../deps.js');
  const confDir = str(parsed.flags['conf-dir']);
  try {
    const deps = makeDeps({
      ...(io.env === process.env && io.cwd === process.cwd() ? {} : {env: io.env, cwd: io.cwd}),
      log: stderrLogger(Boolean(env.CNI_DOCKER_DEBUG), io.stderr),
      ...io.deps,
      ...(confDir ? {confDir} : {}),
    });
    const r = await runCommand(id, parsed, deps, io.stdout);
    if (json) io.stdout.write(`${JSON.stringify(r.payload, null, 2)}\n`);
    if (r.text !== undefined) io.stdout.write(r.text);
    for (const l of r.out) io.stdout.write(`${l}\n`);
    for (const l of r.err) io.stderr.write(`${l}\n`);
    return r.failed ? 1 : 0;
  } catch (err) {
    const {userFacingError} = await import('./user-error.js');
    const known = userFacingError(err);
    if (!known) {
      io.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      return 1;
    }
    if (json) io.stdout.write(`${JSON.stringify(known.json, null, 2)}\n`);
    io.stderr.write(`Error: ${known.message}\n`);
    return known.exitCode;
  }
}
