/**
 * A stand-in for the overlay commands still to come, run as its own process
 * on a (simulated) host: `ip netns exec ov-h1 node overlay-agent.js '<json>'`.
 * It uses the product modules only (etcd client, registry, vxlan datapath)
 * and prints one JSON line; an error is one line on stderr and exit 1.
 *   {"mode":"sync", "endpoints":[...], "prefix":"/p", "publicIP":"…", "uplink":"eth0", "mtu":1450}
 *   {"mode":"acquire", "endpoints":[...], "prefix":"/p", "publicIP":"…", "vtepMac":"…", "pickFirst":true, "startAt":<epoch ms>}
 */
import {createEtcdClient} from '../../src/etcd/client.js';
import type {EtcdClient} from '../../src/etcd/types.js';
import {execaRunner} from '../../src/exec/runner.js';
import {cidrString} from '../../src/util/ip.js';
import {SubnetRegistry} from '../../src/overlay/registry.js';
import {syncHost} from '../../src/overlay/sync.js';

interface AgentArgs {
  mode: 'sync' | 'acquire';
  endpoints: string[];
  prefix: string;
  publicIP: string;
  uplink?: string;
  mtu?: number;
  vtepMac?: string;
  pickFirst?: boolean;
  startAt?: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as AgentArgs;
  const etcd = createEtcdClient({endpoints: a.endpoints});
  let conflicts = 0;
  const counting: EtcdClient = Object.create(etcd, {
    createIfAbsent: {
      value: async (...args: Parameters<EtcdClient['createIfAbsent']>) => {
        const r = await etcd.createIfAbsent(...args);
        if (!r.created) conflicts++;
        return r;
      },
    },
  });
  const registry = new SubnetRegistry(counting, {prefix: a.prefix, random: a.pickFirst ? () => 0 : undefined});
  try {
    if (a.mode === 'sync') {
      const r = await syncHost(execaRunner(), registry, {publicIP: a.publicIP, uplink: a.uplink ?? 'eth0', mtu: a.mtu});
      console.log(JSON.stringify({subnet: cidrString(r.lease.subnet), vtepMac: r.device.mac, peers: r.peers}));
    } else {
      const cfg = await registry.getConfig();
      if (a.startAt) await new Promise((r) => setTimeout(r, Math.max(0, a.startAt! - Date.now())));
      const l = await registry.acquire({publicIP: a.publicIP, vtepMac: a.vtepMac ?? ''}, cfg);
      console.log(JSON.stringify({subnet: cidrString(l.subnet), etcdLease: l.etcdLease, conflicts}));
    }
  } finally {
    await etcd.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
