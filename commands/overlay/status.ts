import {BaseCommand} from '../../src/cli/base-command.js';
import {networkFlags, stateFlags} from '../../src/cli/flags.js';
import {makeDeps} from '../../src/deps.js';
import type {OverlayStatus} from '../../src/runtime/overlay-status.js';

export default class OverlayStatusCommand extends BaseCommand {
  static override summary = "Show an overlay network's subnet leases: subnet, public IP, VTEP MAC, expiry, this host marked";

  static override description =
    'Reads <prefix>/config and every lease under <prefix>/subnets/ from etcd, and asks etcd how long each lease has left. ' +
    "This host's lease (found by its public IP, as the plugin finds it) is marked with *. Reservations (keys without an etcd lease) never expire.";

  static override examples = ['<%= config.bin %> <%= command.id %> --net mesh', '<%= config.bin %> <%= command.id %> --conf /etc/cni/net.d/mesh.conf --json'];

  static override flags = {
    ...networkFlags,
    ...stateFlags,
  };

  async run(): Promise<OverlayStatus> {
    const {flags} = await this.parse(OverlayStatusCommand);
    const {resolveOverlay} = await import('../../src/runtime/overlay-network.js');
    const {overlayStatus} = await import('../../src/runtime/overlay-status.js');
    const deps = makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']});
    const s = await overlayStatus(deps, await resolveOverlay({conf: flags.conf, net: flags.net}, deps.confDir, deps.cwd));
    if (!this.jsonEnabled()) {
      const {renderTable, tableOptions} = await import('../../src/output/table.js');
      this.log(`${s.network}: overlay ${s.overlay.network}, /${s.overlay.subnetLen} per host, vxlan VNI ${s.overlay.vni} port ${s.overlay.port} (etcd ${s.endpoints.join(', ')}, prefix ${s.prefix})`);
      if (s.note) this.logToStderr(`Note: ${s.note}`);
      const now = Date.now();
      const left = (iso?: string): string => (iso ? `${iso} (${Math.max(0, Math.round((Date.parse(iso) - now) / 60_000))} min)` : 'never (reservation)');
      process.stdout.write(renderTable(s.leases, [
        {header: '', value: (l) => (l.mine ? '*' : '')},
        {header: 'subnet', value: (l) => l.subnet},
        {header: 'public ip', value: (l) => l.publicIP},
        {header: 'vtep mac', value: (l) => l.vtepMac ?? '-'},
        {header: 'expires', value: (l) => left(l.expiresAt)},
      ], tableOptions(process.stdout, process.env)));
      for (const e of s.invalid) this.logToStderr(`warning: ${e.key}: ${e.error}`);
    }
    return s;
  }
}
