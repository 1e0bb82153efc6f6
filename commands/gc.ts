import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {gcLines} from '../src/cli/render-outcome.js';
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
    this.print(gcLines(r, this.jsonEnabled()));
    if (r.failures.length > 0) process.exitCode = 1;
    return r;
  }
}
