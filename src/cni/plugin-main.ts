import {runSkel} from './skel.js';
import {loadBuiltin} from '../plugins/registry.js';
import {makeDeps} from '../deps.js';
import {CniError, ErrorCode} from './errors.js';
import {goMarshalIndent} from './json.js';

/**
 * The process boundary of the exec protocol: read CNI_* and stdin, run skel
 * with our built-in plugins, write only the result/error JSON to stdout.
 * Imported directly by the wrappers `install-plugins` writes (no oclif, no
 * dockerode: start-up is what every CNI call pays), and by `cni-docker plugin`.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `name`: the plugin to run (the wrapper's name); without it, the config's `type` decides. */
export async function pluginMain(name?: string): Promise<number> {
  const cmd = process.env.CNI_COMMAND ?? '';
  // VERSION ignores stdin, and an empty command never reads it: a runtime may leave stdin open.
  const stdin = cmd === '' || cmd === 'VERSION' ? '' : await readStdin();
  let deps;
  try {
    deps = makeDeps();
  } catch (err) {
    // A bad CNI_DOCKER_STATE_ROOT: the caller gets a CNI error, as for any bad environment.
    process.stdout.write(goMarshalIndent(new CniError(ErrorCode.InvalidEnvironment, err instanceof Error ? err.message : String(err)).toJSON()));
    process.exitCode = 1;
    return 1;
  }
  const out = await runSkel(process.env, stdin, loadBuiltin, deps, {name});
  if (out.stderr) process.stderr.write(out.stderr);
  if (out.stdout) process.stdout.write(out.stdout);
  process.exitCode = out.exitCode;
  return out.exitCode;
}
