import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {checkLines} from '../src/cli/render-outcome.js';
import type {CheckReport} from '../src/runtime/check-attachments.js';

export default class CheckCommand extends BaseCommand {
  static override summary = "Verify a container's attachments against the system; report drift";

  static override description =
    'Compares each attachment with what is really there: the interface, every address and route of the cached ' +
    "result, the masquerade rules, and the plugins' own CHECK (cniVersion 0.4.0 and later). Exits 1 on any drift.";

  static override examples = ['<%= config.bin %> <%= command.id %> web', '<%= config.bin %> <%= command.id %> web --net mybridge --json'];

  static override args = {
    container: Args.string({description: 'container name, Id or Id prefix (or a netns name for --netns attachments)', required: true}),
  };

  static override flags = {
    net: Flags.string({description: 'only this network'}),
    ...stateFlags,
  };

  async run(): Promise<CheckReport[]> {
    const {args, flags} = await this.parse(CheckCommand);
    const {checkContainer} = await import('../src/runtime/check-attachments.js');
    const reports = await checkContainer(makeDeps({stateRoot: flags['state-root']}), {container: args.container, net: flags.net});
    this.print(checkLines(reports, this.jsonEnabled()));
    if (reports.some((r) => !r.ok)) process.exitCode = 1;
    return reports;
  }
}
