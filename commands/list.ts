import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {listText} from '../src/cli/render-outcome.js';
import type {ListedAttachment} from '../src/runtime/list-attachments.js';

export default class ListCommand extends BaseCommand {
  static override summary = 'Show every attachment: container, network, interface, addresses, state';

  static override description =
    'Reads the CNI result cache (/var/lib/cni/results). State is running, stopped or gone (the container was ' +
    'removed: `cni-docker detach` or `cni-docker gc` frees it). On a terminal a table; piped, tab-separated rows ' +
    'without a header. NO_COLOR is honoured.';

  static override aliases = ['ls'];

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --container web --json',
    '<%= config.bin %> <%= command.id %> --net mybridge | cut -f1,6',
  ];

  static override flags = {
    container: Flags.string({description: 'only this container (name, Id or Id prefix)'}),
    net: Flags.string({description: 'only this network'}),
    ...stateFlags,
  };

  async run(): Promise<ListedAttachment[]> {
    const {flags} = await this.parse(ListCommand);
    const deps = makeDeps({stateRoot: flags['state-root']});
    const {listAttachments} = await import('../src/runtime/list-attachments.js');
    const rows = await listAttachments(deps, {container: flags.container, net: flags.net});
    if (!this.jsonEnabled()) process.stdout.write(await listText(rows, process.stdout, deps.env));
    return rows;
  }
}
