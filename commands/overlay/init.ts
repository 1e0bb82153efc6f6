import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../../src/cli/base-command.js';
import {makeDeps} from '../../src/deps.js';
import type {OverlayInitResult} from '../../src/runtime/overlay/init.js';

export default class OverlayInit extends BaseCommand {
  static override summary = "Write an overlay network's config into etcd (flannel's layout), once";

  static override description =
    'Creates <prefix>/config ({"Network":…,"SubnetLen":…,"Backend":{"Type":"vxlan","VNI":…,"Port":…}}) only if it is absent. ' +
    'The same network again changes nothing; a different one is refused and left as it is. Hosts then take subnet leases under ' +
    '<prefix>/subnets/ when a container is attached to a network config of type "overlay" that names the same etcd and prefix.';

  static override examples = [
    '<%= config.bin %> <%= command.id %> --etcd http://10.0.0.1:2379,http://10.0.0.2:2379 --network 10.240.0.0/16',
    '<%= config.bin %> <%= command.id %> --etcd https://etcd:2379 --etcd-cafile /etc/etcd/ca.pem --prefix /mesh/network --network 10.240.0.0/16 --subnet-len 26 --vni 7',
  ];

  static override flags = {
    etcd: Flags.string({
      description: 'etcd client URLs, comma-separated (or the flag repeated)',
      required: true,
      multiple: true,
      delimiter: ',',
    }),
    prefix: Flags.string({description: 'etcd key prefix of the network', default: '/coreos.com/network'}),
    network: Flags.string({description: 'the overlay network (IPv4 CIDR)', required: true}),
    'subnet-len': Flags.integer({description: "length of each host's subnet (default: 24, or the network's + 2 for small networks)"}),
    'subnet-min': Flags.string({description: 'first subnet that may be leased (default: the second)'}),
    'subnet-max': Flags.string({description: 'last subnet that may be leased (default: the last)'}),
    vni: Flags.integer({description: 'vxlan VNI (device flannel.<VNI>)', default: 1}),
    port: Flags.integer({description: 'vxlan UDP port', default: 8472}),
    'etcd-cafile': Flags.string({description: 'CA certificate of the etcd members (https)', helpGroup: 'ETCD'}),
    'etcd-certfile': Flags.string({description: 'client certificate', helpGroup: 'ETCD'}),
    'etcd-keyfile': Flags.string({description: "client certificate's key", helpGroup: 'ETCD'}),
    'etcd-user': Flags.string({description: 'etcd user; the password is read from $CNI_DOCKER_ETCD_PASSWORD', helpGroup: 'ETCD'}),
  };

  async run(): Promise<OverlayInitResult> {
    const {flags} = await this.parse(OverlayInit);
    const {overlayInit} = await import('../../src/runtime/overlay/init.js');
    const {UsageError} = await import('../../src/errors.js');
    const password = process.env.CNI_DOCKER_ETCD_PASSWORD;
    if (flags['etcd-user'] !== undefined && password === undefined)
      throw new UsageError('--etcd-user needs the password in $CNI_DOCKER_ETCD_PASSWORD');
    // Only etcd is written: no local state, so the state root (and a bad $CNI_DOCKER_STATE_ROOT) plays no part.
    const r = await overlayInit(makeDeps({stateRoot: '/'}), {
      endpoints: flags.etcd,
      prefix: flags.prefix,
      network: flags.network,
      subnetLen: flags['subnet-len'],
      subnetMin: flags['subnet-min'],
      subnetMax: flags['subnet-max'],
      vni: flags.vni,
      port: flags.port,
      tls: {caFile: flags['etcd-cafile'], certFile: flags['etcd-certfile'], keyFile: flags['etcd-keyfile']},
      username: flags['etcd-user'],
      password: flags['etcd-user'] === undefined ? undefined : password,
    });
    const {overlayInitLines} = await import('../../src/cli/render-overlay.js');
    this.print(overlayInitLines(r, this.jsonEnabled()));
    return r;
  }
}
