import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {networkFlags, stateFlags, targetFlags} from '../src/cli/flags.js';
import {makeDeps} from '../src/deps.js';
import {detachLines} from '../src/cli/render-outcome.js';
import type {Detached} from '../src/runtime/detach.js';
import type {Outcome} from '../src/runtime/outcome.js';

export default class DetachCommand extends BaseCommand {
  static override summary = 'Remove interfaces that attach added, releasing their addresses and rules';

  static override description =
    'Runs DEL in reverse plugin order from the cached result. Works when the container or its namespace is ' +
    'already gone (the address is released, rules and cache removed) and is idempotent. Without --net/--conf ' +
    'every attachment of the named containers is removed.';

  static override strict = false;

  static override examples = [
    {description: 'Detach everything attached to "web"', command: '<%= config.bin %> <%= command.id %> web'},
    {description: 'Only one network and interface', command: '<%= config.bin %> <%= command.id %> web --net mybridge --ifname eth1'},
    {description: 'A plain namespace', command: '<%= config.bin %> <%= command.id %> --netns /var/run/netns/1234567890'},
    {description: 'Every attachment cni-docker knows of', command: '<%= config.bin %> <%= command.id %> --all'},
  ];

  static override args = {
    containers: Args.string({description: 'container names, Ids or Id prefixes (also of removed containers)'}),
  };

  static override flags = {
    ...networkFlags,
    ...targetFlags,
    ...stateFlags,
    ifname: Flags.string({description: 'only this interface'}),
    all: Flags.boolean({description: 'every attachment (of the named containers, or of all containers when none is named)'}),
  };

  async run(): Promise<Outcome<Detached>> {
    const {argv, flags} = await this.parse(DetachCommand);
    const {detach} = await import('../src/runtime/detach.js');
    const progress = this.progressLine('detaching');
    const outcome = await detach(makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']}), {
      containers: argv as string[],
      netns: flags.netns,
      id: flags.id,
      conf: flags.conf,
      net: flags.net,
      ifname: flags.ifname,
      all: flags.all,
      progress: progress?.update,
    }).finally(() => progress?.end());
    this.print(detachLines(outcome, this.jsonEnabled()));
    if (outcome.failures.length > 0) process.exitCode = 1;
    return outcome;
  }
}
