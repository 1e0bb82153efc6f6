import {readFileSync} from 'node:fs';
import type {Deps} from '../deps.js';

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

/** What oclif prints for `--version`. */
export function versionLine(pkg: {name: string; version: string}): string {
  return `${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`;
}

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

/**
 * Run attach, detach or list from parsed args and flags: the one mapping of
 * flags to a request and of the outcome to output, shared by this fast path
 * and the oclif commands (commands/attach.ts, detach.ts, list.ts).
 */
export async function runCommand(id: FastId, p: Parsed, deps: Deps): Promise<CommandOutput> {
  const f = p.flags;
  const render = await import('./render-outcome.js');
  const json = f.json === true;
  if (id === 'list') {
    const {listAttachments} = await import('../runtime/list.js');
    const rows = await listAttachments(deps, {container: str(f.container), net: str(f.net)});
    return {payload: rows, out: [], err: [], failed: false, text: json ? undefined : await render.listText(rows, process.stdout, process.env)};
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
  if (env.CNI_DOCKER_NO_FAST) return false;
  if (argv.length === 1 && argv[0] === '--version') {
    const pkg = JSON.parse(readFileSync(`${rootDir}/package.json`, 'utf8')) as {name: string; version: string};
    process.stdout.write(`${versionLine(pkg)}\n`);
    return true;
  }
  const id = ALIASES[argv[0]];
  if (!id) return false;
  const parsed = parseFast(FAST_COMMANDS[id], argv.slice(1));
  if (!parsed) return false;
  const max = FAST_COMMANDS[id].maxArgs;
  if (max !== undefined && parsed.args.length > max) return false;
  const json = parsed.flags.json === true;
  const {makeDeps} = await import('../deps.js');
  const confDir = str(parsed.flags['conf-dir']);
  try {
    const r = await runCommand(id, parsed, makeDeps(confDir ? {confDir} : {}));
    if (json) process.stdout.write(`${JSON.stringify(r.payload, null, 2)}\n`);
    if (r.text !== undefined) process.stdout.write(r.text);
    for (const l of r.out) process.stdout.write(`${l}\n`);
    for (const l of r.err) process.stderr.write(`${l}\n`);
    if (r.failed) process.exitCode = 1;
  } catch (err) {
    const {userFacingError} = await import('./user-error.js');
    const known = userFacingError(err);
    if (!known) {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
      return true;
    }
    if (json) process.stdout.write(`${JSON.stringify(known.json, null, 2)}\n`);
    process.stderr.write(`Error: ${known.message}\n`);
    process.exitCode = known.exitCode;
  }
  return true;
}
