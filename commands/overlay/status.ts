import {BaseCommand} from '../../src/cli/base-command.js';
import {networkFlags, stateFlags} from '../../src/cli/flags.js';
import {makeDeps} from '../../src/deps.js';
import type {OverlayStatus} from '../../src/runtime/overlay/status.js';

export default class OverlayStatusCommand extends BaseCommand {
  static override summary = "Show an overlay network's subnet leases: subnet, public IP, VTEP MAC, expiry, this host marked";

  static override description =
    'Reads <prefix>/config and every lease under <prefix>/subnets/ from etcd, and asks etcd how long each lease has left. ' +
    "This host's lease (found by its public IP, as the plugin finds it) is marked with *. Reservations (keys without an etcd lease) never expire.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> --net mesh',
    '<%= config.bin %> <%= command.id %> --conf /etc/cni/net.d/mesh.conf --json',
  ];

  static override flags = {
    ...networkFlags,
    ...stateFlags,
  };

  async run(): Promise<OverlayStatus> {
    const {flags} = await this.parse(OverlayStatusCommand);
    const {resolveOverlay} = await import('../../src/runtime/overlay/network.js');
    const {overlayStatus} = await import('../../src/runtime/overlay/status.js');
    const deps = makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']});
    const s = await overlayStatus(deps, await resolveOverlay({conf: flags.conf, net: flags.net}, deps.confDir, deps.cwd));
    if (!this.jsonEnabled()) {
      const {overlayStatusText} = await import('../../src/cli/render-overlay.js');
      const text = overlayStatusText(s, process.stdout, process.env);
      process.stdout.write(text.out);
      for (const l of text.err) process.stderr.write(`${l}\n`);
    }
    return s;
  }
}
