import * as Args from '@oclif/core/args';
import {Command} from '@oclif/core/command';

export default class Plugin extends Command {
  static override description = `Run a built-in CNI plugin by the exec protocol (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH, config on stdin).
CNI_COMMAND is ADD, DEL, CHECK or VERSION, and for cniVersion 1.1.0 configs GC or STATUS.
Only the result or error JSON is written to stdout; the exit status is 0 or 1.`;

  static override examples = [
    'CNI_COMMAND=VERSION <%= config.bin %> plugin bridge',
    'CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/var/run/netns/c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni <%= config.bin %> plugin < net.conf',
    'CNI_COMMAND=STATUS CNI_PATH=/usr/lib/cni <%= config.bin %> plugin bridge < net.conf',
  ];

  static override args = {
    // ignoreStdin: without it oclif takes piped stdin (the network config) as this argument's value.
    type: Args.string({
      description: 'plugin to run (bridge, macvlan, host-local, dhcp, overlay); default: the config\'s "type"',
      required: false,
      ignoreStdin: true,
    }),
  };

  async run(): Promise<void> {
    const {args} = await this.parse(Plugin);
    // Lazy: keeps this command's start-up to skel + the one plugin it runs.
    const {pluginMain} = await import('../src/runtime/plugin-main.js');
    await pluginMain(args.type);
  }
}
