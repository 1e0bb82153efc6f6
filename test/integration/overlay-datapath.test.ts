import {strict as assert} from 'node:assert';
import {spawn, spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {createEtcdClient} from '../../src/etcd/client.js';
import type {EtcdClient} from '../../src/etcd/types.js';
import {programmedPeers, readProgrammed, type Peer} from '../../src/net/link-vxlan.js';
import {SubnetRegistry} from '../../src/overlay/registry.js';
import {assertRoot} from '../helpers/docker.js';
import {EtcdCluster} from '../helpers/etcd-cluster.js';
import {REAL_HOST_IP, SimHosts, type OverlayHost} from '../helpers/sim-hosts.js';

const AGENT = fileURLToPath(new URL('../helpers/overlay-agent.js', import.meta.url));
const PREFIX = '/ov-datapath/network';
const DEV = 'flannel.1';
const TEST_ALIAS = 'ov-test';

interface Synced {
  subnet: string;
  vtepMac: string;
  peers: Peer[];
}

/** Run the agent on a host (inside its namespace for a simulated one). */
function syncOn(h: OverlayHost, endpoints: string[]): Promise<Synced> {
  const argv = h.argv([
    process.execPath,
    AGENT,
    JSON.stringify({mode: 'sync', endpoints, prefix: PREFIX, publicIP: h.publicIP, uplink: h.uplink}),
  ]);
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Synced) : reject(new Error(`sync on ${h.name} exited ${code}: ${err.trim()}`)),
    );
  });
}

const vtepOf = (subnet: string): string => subnet.split('/')[0];
const hostAddrOf = (subnet: string): string => vtepOf(subnet).replace(/\.0$/, '.1');

async function vxlanCounters(h: OverlayHost): Promise<{tx: number; rx: number}> {
  const [l] = JSON.parse(await h.exec(['ip', '-j', '-s', 'link', 'show', 'dev', DEV])) as {
    stats64: {tx: {packets: number}; rx: {packets: number}};
  }[];
  return {tx: l.stats64.tx.packets, rx: l.stats64.rx.packets};
}

/** flannel.1 on the real host is made by this test only: a leftover is recognised by its alias, anything else is refused. */
function clearRealHostDevice(): void {
  const r = spawnSync('ip', ['-j', 'link', 'show', 'dev', DEV], {encoding: 'utf8'});
  if (r.status !== 0) return;
  const [l] = JSON.parse(r.stdout) as {ifalias?: string}[];
  if (l.ifalias !== TEST_ALIAS)
    throw new Error(`${DEV} exists on this host and is not this test's (alias ${TEST_ALIAS}); remove it or run elsewhere`);
  spawnSync('ip', ['link', 'del', DEV], {stdio: 'ignore'});
}

describe('overlay datapath: vxlan between 3 simulated hosts and the real host, peers from etcd leases', function () {
  this.timeout(180_000);
  const bed = new SimHosts(3);
  // The members listen on the real host's underlay address: on-link for every simulated host.
  const cluster = new EtcdCluster({hosts: [REAL_HOST_IP]});
  let admin: EtcdClient;
  const synced = new Map<string, Synced>();

  before(async () => {
    assertRoot();
    clearRealHostDevice();
    await bed.setup();
    await cluster.start();
    admin = createEtcdClient({endpoints: cluster.endpoints});
    await new SubnetRegistry(admin, {prefix: PREFIX}).putConfig({network: '10.240.0.0/16', subnetLen: 24, vni: 1, port: 8472});
  });

  after(async () => {
    await admin?.close();
    await cluster.cleanup();
    clearRealHostDevice();
    bed.cleanup();
  });

  it('every simulated host reaches every etcd member on the underlay', async () => {
    for (const h of bed.sims) {
      const out = await h.exec(['etcdctl', '--endpoints', cluster.endpoints.join(','), 'endpoint', 'health', '-w', 'json']);
      const health = JSON.parse(out) as {endpoint: string; health: boolean}[];
      assert.deepEqual(
        health
          .filter((e) => e.health)
          .map((e) => e.endpoint)
          .sort(),
        [...cluster.endpoints].sort(),
        `${h.name}: ${out}`,
      );
    }
  });

  it('each host takes a lease, makes flannel.1, and programs its peers from the leases', async () => {
    for (const h of bed.all) {
      synced.set(h.name, await syncOn(h, cluster.endpoints));
      if (h === bed.real) spawnSync('ip', ['link', 'set', DEV, 'alias', TEST_ALIAS], {stdio: 'ignore'});
    }
    // A second pass: the hosts that synced first learn the peers that came later.
    for (const h of bed.all) synced.set(h.name, await syncOn(h, cluster.endpoints));
    const subnets = bed.all.map((h) => synced.get(h.name)!.subnet);
    assert.equal(new Set(subnets).size, 4, `four distinct subnets: ${subnets.join(' ')}`);
    for (const s of subnets) assert.match(s, /^10\.240\.\d+\.0\/24$/);

    for (const h of bed.all) {
      const me = synced.get(h.name)!;
      const [link] = JSON.parse(await h.exec(['ip', '-j', '-d', 'addr', 'show', 'dev', DEV])) as {
        mtu: number;
        address: string;
        addr_info: {family: string; local: string; prefixlen: number}[];
        linkinfo: {info_kind: string; info_data: {id: number; port: number; local: string; link: string; learning: boolean}};
      }[];
      assert.equal(link.linkinfo.info_kind, 'vxlan');
      assert.deepEqual(
        {
          id: link.linkinfo.info_data.id,
          port: link.linkinfo.info_data.port,
          local: link.linkinfo.info_data.local,
          link: link.linkinfo.info_data.link,
          learning: link.linkinfo.info_data.learning,
        },
        {id: 1, port: 8472, local: h.publicIP, link: h.uplink, learning: false},
      );
      assert.equal(link.mtu, 1450, 'uplink MTU 1500 less 50');
      assert.equal(link.address, me.vtepMac, 'the lease carries the device MAC');
      assert.deepEqual(
        link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
        [`${vtepOf(me.subnet)}/32`],
      );

      const want = bed.all
        .filter((o) => o !== h)
        .map((o) => ({subnet: synced.get(o.name)!.subnet, publicIP: o.publicIP, vtepMac: synced.get(o.name)!.vtepMac}));
      const have = programmedPeers(await readProgrammed(h.runner, 1));
      const key = (p: Peer) => p.subnet;
      assert.deepEqual(
        [...have].sort((a, b) => key(a).localeCompare(key(b))),
        want.sort((a, b) => key(a).localeCompare(key(b))),
        `${h.name}'s peers`,
      );
    }
  });

  it("pings between the hosts' subnet addresses, through the vxlan devices", async () => {
    // A <subnet>.1/32 on each simulated host's lo stands for a container address: not on any bridge, reachable only through the overlay.
    for (const h of bed.sims) await h.exec(['ip', 'addr', 'add', `${hostAddrOf(synced.get(h.name)!.subnet)}/32`, 'dev', 'lo']);
    for (const from of bed.sims) {
      const src = hostAddrOf(synced.get(from.name)!.subnet);
      for (const to of bed.all.filter((o) => o !== from)) {
        const dst = to === bed.real ? vtepOf(synced.get(to.name)!.subnet) : hostAddrOf(synced.get(to.name)!.subnet);
        const route = JSON.parse(await from.exec(['ip', '-j', 'route', 'get', dst, 'from', src])) as {dev: string}[];
        assert.equal(route[0].dev, DEV, `${from.name} routes ${dst} over ${DEV}`);
        const before = [await vxlanCounters(from), await vxlanCounters(to)];
        await from
          .exec(['busybox', 'ping', '-c', '1', '-W', '2', '-I', src, dst])
          .catch((e: Error) => assert.fail(`${from.name} ${src} -> ${to.name} ${dst}: ${e.message}`));
        const after = [await vxlanCounters(from), await vxlanCounters(to)];
        assert.ok(after[0].tx > before[0].tx && after[1].rx > before[1].rx, `the echo left ${from.name} and reached ${to.name} on ${DEV}`);
      }
    }
    // And from the real host to each simulated host's address.
    for (const to of bed.sims) {
      await bed.real.exec(['busybox', 'ping', '-c', '1', '-W', '2', hostAddrOf(synced.get(to.name)!.subnet)]);
    }
  });

  it('a sync removes the route, neighbour and FDB entry of a lease that is gone', async () => {
    const [h1, , h3] = bed.sims;
    const gone = synced.get(h3.name)!;
    const reg = new SubnetRegistry(admin, {prefix: PREFIX});
    const lease = (await reg.listLeases()).leases.find((l) => l.attrs.publicIP === h3.publicIP)!;
    await admin.leaseRevoke(lease.etcdLease);
    const after = await syncOn(h1, cluster.endpoints);
    assert.ok(!after.peers.some((p) => p.subnet === gone.subnet));
    const now = await readProgrammed(h1.runner, 1);
    assert.ok(!now.routes.some((r) => r.subnet === gone.subnet), 'route removed');
    assert.ok(!now.neighbours.some((n) => n.mac === gone.vtepMac), 'neighbour removed');
    assert.ok(!now.fdb.some((f) => f.mac === gone.vtepMac), 'FDB entry removed');
    assert.equal(programmedPeers(now).length, 2);
    const ping = spawnSync('ip', ['netns', 'exec', h1.netns!, 'busybox', 'ping', '-c', '1', '-W', '1', hostAddrOf(gone.subnet)], {
      stdio: 'ignore',
    });
    assert.notEqual(ping.status, 0, 'the gone host is no longer reached');
  });
});
