import {BaseCommand} from '../src/cli/base-command.js';
import * as Flags from '@oclif/core/flags';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {doctorLines} from '../src/cli/render-outcome.js';
import type {DoctorReport} from '../src/runtime/doctor.js';

export default class Doctor extends BaseCommand {
  static override summary = 'Check that this host is ready for cni-docker, one line per check with a fix.';

  static override description =
    'Checks: running as root, Docker reachable, the iptables backend (and that Docker uses the same), ip_forward, ' +
    "bridge netfilter and Docker's FORWARD DROP, the conf dir and each config in it, subnets overlapping Docker's networks " +
    'or host routes, stale state that `gc` would free, and whether the etcd of each overlay network answers. Exits 1 when any check fails.';

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  static override flags = {
    'conf-dir': Flags.string({description: 'conf dir (default: $NETCONFPATH or /etc/cni/net.d)'}),
    ...stateFlags,
  };

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor);
    const {doctor} = await import('../src/runtime/doctor.js');
    const r = await doctor(makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']}), {uid: process.getuid?.()});
    this.print(doctorLines(r, this.jsonEnabled()));
    if (!r.ok) process.exitCode = 1;
    return r;
  }
}
