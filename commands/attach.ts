import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../src/cli/base-command.js';
import {networkFlags, stateFlags, targetFlags} from '../src/cli/flags.js';
import {makeDeps} from '../src/deps.js';
import {attachLines} from '../src/cli/render-outcome.js';
import type {DryRunPlan} from '../src/runtime/attach.js';
import type {Attachment} from '../src/runtime/attachment.js';
import type {Outcome} from '../src/runtime/outcome.js';

export default class AttachCommand extends BaseCommand {
  static override summary = 'Give running containers (or a netns) an extra interface from a CNI network config';

  static override description =
    "Finds each container's network namespace through the Docker Engine API and runs the network's plugins " +
    '(our bridge/macvlan with host-local/dhcp IPAM, or any CNI plugin in CNI_PATH) against it. ' +
    "Docker's own eth0, routes and resolver stay untouched unless the config asks for a default route. " +
    'Attaching an already attached (container, network, ifname) returns the existing attachment.';

  static override strict = false;

  static override examples = [
    {
      description: 'The seed scenario on a --net=none container',
      command: '<%= config.bin %> <%= command.id %> web --conf configs/mybridge2.conf',
    },
    {
      description: 'A named network from the conf dir, two containers at once',
      command: '<%= config.bin %> <%= command.id %> web db --net customrktbridge --conf-dir configs',
    },
    {
      description: 'A plain namespace made with `ip netns add 1234567890`',
      command: '<%= config.bin %> <%= command.id %> --netns /var/run/netns/1234567890 --conf configs/mybridge.conf --ifname eth12',
    },
    {
      description: 'Publish port 8080 of "web" on port 18080 of the host (through the reference portmap)',
      command: '<%= config.bin %> <%= command.id %> web --conf configs/cni-docker-portmap.conflist --publish 18080:8080',
    },
    {description: 'Show what would happen, touching nothing', command: '<%= config.bin %> <%= command.id %> web --net mybridge --dry-run'},
  ];

  static override args = {
    containers: Args.string({description: 'container names, Ids or unique Id prefixes'}),
  };

  static override flags = {
    ...networkFlags,
    ...targetFlags,
    ...stateFlags,
    ifname: Flags.string({description: 'interface name inside the container (default: the first free ethN)'}),
    ip: Flags.string({description: 'request this address (CNI_ARGS IP=, and the ips capability where a plugin declares it)'}),
    mac: Flags.string({description: 'container-side MAC address (CNI_ARGS MAC=)'}),
    args: Flags.string({description: 'extra CNI_ARGS as KEY=VALUE (repeatable)', multiple: true}),
    publish: Flags.string({
      char: 'p',
      description:
        'publish a container port on the host, [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (repeatable; one container; the network needs a plugin with the portMappings capability, e.g. portmap)',
      multiple: true,
      // One value per flag, so `-p 80:80 web` leaves `web` a container.
      multipleNonGreedy: true,
    }),
    persist: Flags.boolean({description: 're-attach with the same address and MAC when the container restarts (with `cni-docker watch`)'}),
    'dry-run': Flags.boolean({description: 'print the resolved config, target and steps; change nothing'}),
  };

  async run(): Promise<Outcome<Attachment | DryRunPlan>> {
    const {argv, flags} = await this.parse(AttachCommand);
    const {attach} = await import('../src/runtime/attach.js');
    const progress = this.progressLine('attaching');
    const outcome = await attach(makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']}), {
      containers: argv as string[],
      netns: flags.netns,
      id: flags.id,
      conf: flags.conf,
      net: flags.net,
      ifname: flags.ifname,
      ip: flags.ip,
      mac: flags.mac,
      args: flags.args,
      publish: flags.publish,
      persist: flags.persist,
      dryRun: flags['dry-run'],
      progress: progress?.update,
    }).finally(() => progress?.end());
    this.print(attachLines(outcome, this.jsonEnabled()));
    if (outcome.failures.length > 0) process.exitCode = 1;
    return outcome;
  }
}
