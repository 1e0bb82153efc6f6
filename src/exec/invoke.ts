import {stat} from 'node:fs/promises';
import path from 'node:path';
import type {Plugin, PluginContext} from './plugin.js';
import type {CmdArgs, Result} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {parseResult} from '../cni/results.js';

/**
 * Running a plugin executable by the exec protocol (the reference's
 * pkg/invoke): look the type up in CNI_PATH, run it with the CNI_*
 * environment and the config on stdin, and map its failure to a CNI error
 * exactly as the reference does (§0.4).
 */
export type ExecCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

const TEXT_BUSY_RETRIES = 5;

/** A plugin type names an executable in a directory, never a path. */
export function checkPluginName(type: string): void {
  if (!type) throw new CniError(ErrorCode.Internal, 'no plugin name provided');
  if (type.includes('/')) throw new CniError(ErrorCode.Internal, `invalid plugin name: ${type}`);
}

/** The external plugin `type` as a Plugin: every command runs its executable, found on the args' CNI_PATH. */
export function execPlugin(type: string): Plugin {
  return {
    type,
    add: (ctx, args) => execPluginAdd(ctx, type, args),
    del: (ctx, args) => execPluginCommand(ctx, type, 'DEL', args),
    check: (ctx, args) => execPluginCommand(ctx, type, 'CHECK', args),
    gc: (ctx, args) => execPluginCommand(ctx, type, 'GC', args),
    status: (ctx, args) => execPluginCommand(ctx, type, 'STATUS', args),
  };
}

/** First regular file `<dir>/<type>` over the path list (relative directories from `cwd`, the caller's). */
export async function findPlugin(type: string, dirs: readonly string[], cwd = process.cwd()): Promise<string> {
  checkPluginName(type);
  for (const dir of dirs) {
    const file = path.resolve(cwd, dir, type);
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin ${JSON.stringify(type)} in path [${dirs.join(' ')}]`);
}

/** The environment a CNI runtime gives a plugin: the caller's env plus all six CNI_* variables. */
export function pluginEnv(ctx: PluginContext, cmd: ExecCommand, args: CmdArgs): Record<string, string | undefined> {
  return {
    ...ctx.env,
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: args.containerId,
    CNI_NETNS: args.netns,
    CNI_IFNAME: args.ifname,
    CNI_ARGS: args.args,
    CNI_PATH: args.path.join(':'),
  };
}

/** The reference's mapping of a failed plugin run to an error. */
export function execFailure(stdout: string, stderr: string, exitCode: number): CniError {
  if (stdout.trim() === '') {
    if (stderr.trim() === '') return new CniError(ErrorCode.Internal, `netplugin failed with no error message: exit status ${exitCode}`);
    return new CniError(ErrorCode.Internal, `netplugin failed: ${JSON.stringify(stderr)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (e) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(e as Error).message}`,
    );
  }
  const o = (parsed ?? {}) as {code?: unknown; msg?: unknown; details?: unknown};
  return new CniError(
    typeof o.code === 'number' ? o.code : 0,
    typeof o.msg === 'string' ? o.msg : '',
    typeof o.details === 'string' ? o.details : undefined,
  );
}

/** Run `type` with `cmd`; returns its stdout on success, throws the mapped CniError on failure. */
export async function execPluginRaw(ctx: PluginContext, type: string, cmd: ExecCommand, args: CmdArgs): Promise<string> {
  const file = await findPlugin(type, args.path, ctx.cwd);
  const env = pluginEnv(ctx, cmd, args);
  for (let attempt = 0; ; attempt++) {
    const r = await ctx.runner.run(file, [], {input: args.stdin, env, extendEnv: false, reject: false});
    if (r.exitCode === 127 && /ETXTBSY|text file busy/i.test(r.stderr) && attempt < TEXT_BUSY_RETRIES) {
      await new Promise((res) => setTimeout(res, 1000));
      continue;
    }
    if (r.exitCode !== 0) throw execFailure(r.stdout, r.stderr, r.exitCode);
    if (r.stderr) ctx.log.debug(r.stderr.trimEnd());
    return r.stdout;
  }
}

/** ADD: the delegate's result, parsed from its own version (or the config's, when it names none). */
export async function execPluginAdd(ctx: PluginContext, type: string, args: CmdArgs): Promise<Result> {
  const out = await execPluginRaw(ctx, type, 'ADD', args);
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to decode result of plugin ${JSON.stringify(type)}: ${(e as Error).message}`);
  }
  return parseResult(json, configVersionOf(args.stdin));
}

export async function execPluginCommand(ctx: PluginContext, type: string, cmd: ExecCommand, args: CmdArgs): Promise<void> {
  await execPluginRaw(ctx, type, cmd, args);
}

function configVersionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as {cniVersion?: unknown}).cniVersion;
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}
