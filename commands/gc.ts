import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import type {GcResult} from '../src/runtime/gc.js';

export default class Gc extends BaseCommand {
  static override summary = 'Release addresses, rules, leases and cache entries of containers that no longer exist.';

  static override description =
    "Compares cni-docker's result cache and attachment records, the host-local stores of its networks, its masquerade chains " +
    '(iptables and nftables), its DHCP leases and its per-container lock files with the containers Docker reports, and ' +
    'releases everything that belongs to removed containers (or plain network namespaces whose path is gone): DEL through ' +
    'the cached config, then any leftover. ' +
    'Attachments of existing containers (running or stopped) and state cni-docker did not create are never touched.';

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
    const verb = r.dryRun ? 'would free' : 'freed';
    for (const i of r.freed) {
      this.log(`${verb} ${i.kind} ${i.detail} of ${i.name} (${i.containerId.slice(0, 12)})${i.network ? ` on ${i.network}${i.ifname ? `/${i.ifname}` : ''}` : ''}: ${i.reason}`);
    }
    if (r.freed.length === 0) this.log('nothing to free');
    for (const f of r.failures) process.stderr.write(`Error: ${f.message}\n`);
    if (r.failures.length > 0) process.exitCode = 1;
    return r;
  }
}
