import {spawnSync} from 'node:child_process';
import type {CmdArgs} from '../../src/cni/types.js';

/** The reference plugins (Debian containernetworking-plugins), the comparator of the integration tests. */
export const REF = '/usr/lib/cni';

/** Run a reference plugin by the exec protocol with only the CNI_* environment (and PATH). */
export function refExec(type: string, cmd: string, a: CmdArgs): {rc: number; out: string} {
  const env = {
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_ARGS: a.args,
    CNI_PATH: REF,
    PATH: process.env.PATH ?? '',
  };
  const r = spawnSync(`${REF}/${type}`, [], {input: a.stdin, env, encoding: 'utf8'});
  return {rc: r.status ?? 1, out: r.stdout};
}
