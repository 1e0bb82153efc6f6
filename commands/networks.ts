import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import type {NetworkInfo} from '../src/runtime/list-networks.js';

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
    const {listNetworks} = await import('../src/runtime/list-networks.js');
    const nets = await listNetworks(deps);
    if (!this.jsonEnabled()) {
      const {networkTable} = await import('../src/cli/render.js');
      process.stdout.write(await networkTable(nets, process.stdout, process.env));
    }
    return nets;
  }
}
