import type {PluginContext} from '../exec/plugin.js';
import type {CmdArgs, Result} from '../cni/types.js';

/**
 * Delegation to an IPAM (or any other) plugin by type, as the reference's
 * ipam.ExecAdd/ExecDel/ExecCheck/ExecGC/ExecStatus: the delegate gets the
 * same CmdArgs. Where it comes from (built in, or an executable on CNI_PATH)
 * is the caller's business, through `ctx.plugins`.
 */
const load = (ctx: PluginContext, type: string | undefined) => ctx.plugins.load(type ?? '');

export async function delegateAdd(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<Result> {
  return (await load(ctx, type)).add(ctx, args);
}

export async function delegateDel(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  return (await load(ctx, type)).del(ctx, args);
}

export async function delegateCheck(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  return (await load(ctx, type)).check(ctx, args);
}

/** GC to a delegate (spec 1.1: a plugin must forward GC to its IPAM); a delegate without GC succeeds. */
export async function delegateGc(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  return (await load(ctx, type)).gc?.(ctx, args);
}

/** STATUS to a delegate (spec 1.1: a plugin reports its IPAM's readiness); a delegate without STATUS is ready. */
export async function delegateStatus(ctx: PluginContext, type: string | undefined, args: CmdArgs): Promise<void> {
  return (await load(ctx, type)).status?.(ctx, args);
}
