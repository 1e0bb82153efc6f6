import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {gcLines} from '../src/cli/render-outcome.js';
import type {GcResult} from '../src/runtime/gc.js';

export default class Gc extends BaseCommand {
  static override summary = 'Release addresses, rules, leases and cache entries of containers that no longer exist.';

  static override description =
    "libcni's GCNetworkList with a Docker front. The valid attachments are cni-docker's attachments of the containers Docker " +
    'reports (running or stopped) and of plain network namespaces that still exist. gc DELs every other attachment through its ' +
    'cached config, then sends the CNI GC verb (cni.dev/valid-attachments) to each plugin of every cniVersion 1.1.0 network in ' +
    'the conf dir or the cache, then releases whatever is still left of removed containers in its host-local stores, masquerade ' +
    'chains (iptables and nftables), DHCP leases, published-port forwarding rules, the per-container lock files of older versions ' +
    'and the reservation indexes of host-local stores that are gone. On a 1.1.0 ' +
    'network everything that is not a valid attachment is freed (as the GC verb means), so such a network should not be shared ' +
    'with another runtime. A plugin that fails GC is reported in one line (exit 1) and the rest goes on.';

  static override examples = [
    {description: 'Show what would be freed', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {description: 'Free it', command: '<%= config.bin %> <%= command.id %>'},
  ];

  static override flags = {
    'dry-run': Flags.boolean({description: 'only show what would be freed', default: false}),
    ...stateFlags,
  };

  async run(): Promise<GcResult> {
    const {flags} = await this.parse(Gc);
    const {gc} = await import('../src/runtime/gc.js');
    const r = await gc(makeDeps({stateRoot: flags['state-root']}), {dryRun: flags['dry-run']});
    this.print(gcLines(r, this.jsonEnabled()));
    if (r.failures.length > 0) process.exitCode = 1;
    return r;
  }
}
