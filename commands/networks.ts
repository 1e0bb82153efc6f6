import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import type {NetworkInfo} from '../src/runtime/networks.js';

export default class NetworksCommand extends BaseCommand {
  static override summary = 'List the network configs in the conf dir, with subnets and used/free addresses';

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --conf-dir configs --json'];

  static override flags = {
    'conf-dir': Flags.string({description: 'conf dir (default: $NETCONFPATH or /etc/cni/net.d)'}),
    ...stateFlags,
  };

  async run(): Promise<NetworkInfo[]> {
    const {flags} = await this.parse(NetworksCommand);
    const deps = makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']});
    const {listNetworks} = await import('../src/runtime/networks.js');
    const nets = await listNetworks(deps);
    if (!this.jsonEnabled()) {
      const {renderTable, tableOptions} = await import('../src/output/table.js');
      const {Chalk} = await import('chalk');
      const opts = tableOptions(process.stdout, process.env);
      const c = new Chalk({level: opts.color ? 1 : 0});
      process.stdout.write(
        renderTable(
          nets,
          [
            {header: 'name', value: (n) => n.name || '-'},
            {header: 'type', value: (n) => n.type + (n.ipam ? `/${n.ipam}` : '') || '-'},
            {header: 'version', value: (n) => n.cniVersion || '-'},
            {header: 'subnets', value: (n) => n.subnets.join(' ') || '-'},
            {header: 'used', value: (n) => (n.used === undefined ? '-' : String(n.used))},
            {header: 'free', value: (n) => (n.free === undefined ? '-' : String(n.free))},
            {header: 'file', value: (n) => (n.error ? `${n.file}: ${n.error}` : n.file), color: (n) => (n.error ? c.red : undefined)},
          ],
          opts,
          c.bold,
        ),
      );
    }
    return nets;
  }
}
