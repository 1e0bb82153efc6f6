import type {PluginContext} from './plugin.js';
import type {CmdArgs, Result} from './types.js';
import {CniError, ErrorCode} from './errors.js';
import {loadBuiltin} from '../plugins/registry.js';

/**
 * Delegation to an IPAM (or any other) plugin by type, as the reference's
 * ipam.ExecAdd/ExecDel/ExecCheck: built-in types run in-process with the same
 * CmdArgs (stdin byte-identical); other types are executed from CNI_PATH.
 *
 * NOTE: execution of external types is provided by src/runtime/exec-plugin.ts
 * (CNI core issue); until then only built-ins are supported here.
 */
export type DelegateCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';

function checkName(type: string | undefined): string {
  if (!type) throw new CniError(ErrorCode.Internal, 'no plugin name provided');
  if (type.includes('/')) throw new CniError(ErrorCode.Internal, `invalid plugin name: ${type}`);
  return type;
}

export async function delegateAdd(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<Result> {
  const t = checkName(type);
  const p = await loadBuiltin(t);
  if (p) return p.add(ctx, args);
  const {execPluginAdd} = await import('../runtime/exec-plugin.js');
  return execPluginAdd(ctx, t, args);
}

export async function delegateDel(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  const t = checkName(type);
  const p = await loadBuiltin(t);
  if (p) return p.del(ctx, args);
  const {execPluginCommand} = await import('../runtime/exec-plugin.js');
  await execPluginCommand(ctx, t, 'DEL', args);
}

export async function delegateCheck(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  const t = checkName(type);
  const p = await loadBuiltin(t);
  if (p) return p.check(ctx, args);
  const {execPluginCommand} = await import('../runtime/exec-plugin.js');
  await execPluginCommand(ctx, t, 'CHECK', args);
}

/** GC to a delegate (spec 1.1: a plugin must forward GC to its IPAM); a built-in without gc succeeds. */
export async function delegateGc(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  const t = checkName(type);
  const p = await loadBuiltin(t);
  if (p) return p.gc?.(ctx, args);
  const {execPluginCommand} = await import('../runtime/exec-plugin.js');
  await execPluginCommand(ctx, t, 'GC', args);
}
