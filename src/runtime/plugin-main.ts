import {runSkel, type FuncsLoader} from '../cni/skel.js';
import {withContext, type PluginContext} from '../exec/plugin.js';
import {loadBuiltin} from '../plugins/registry.js';
import {makeDeps} from '../deps.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {goMarshalIndent} from '../cni/json.js';
import {errorText} from '../util/error-text.js';

/**
 * The process boundary of the exec protocol: read CNI_* and stdin, run skel
 * with our built-in plugins, write only the result/error JSON to stdout.
 * `cni-docker plugin` imports it, and so every executable that
 * `install-plugins` writes.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The built-in plugins, each run with `ctx`: what skel may dispatch to. */
export function builtinFuncs(ctx: PluginContext): FuncsLoader {
  return async (type) => {
    const plugin = await loadBuiltin(type);
    return plugin && withContext(plugin, ctx);
  };
}

/** `name`: the plugin to run (the wrapper's name); without it, the config's `type` decides. */
export async function pluginMain(name?: string): Promise<number> {
  const cmd = process.env.CNI_COMMAND ?? '';
  // VERSION ignores stdin, and an empty command never reads it: a runtime may leave stdin open.
  const stdin = cmd === '' || cmd === 'VERSION' ? '' : await readStdin();
  let deps;
  try {
    // No reservation index: an executable's state is the reference's, file for file.
    deps = makeDeps({ipamIndexDir: undefined});
  } catch (err) {
    // A bad CNI_DOCKER_STATE_ROOT: the caller gets a CNI error, as for any bad environment.
    process.stdout.write(goMarshalIndent(new CniError(ErrorCode.InvalidEnvironment, errorText(err)).toJSON()));
    process.exitCode = 1;
    return 1;
  }
  const out = await runSkel(process.env, stdin, builtinFuncs(deps), {name});
  if (out.stderr) process.stderr.write(out.stderr);
  if (out.stdout) process.stdout.write(out.stdout);
  process.exitCode = out.exitCode;
  return out.exitCode;
}
