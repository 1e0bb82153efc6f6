import {strict as assert} from 'node:assert';
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {createEtcdClient} from '../../src/etcd/client.js';
import {EtcdError} from '../../src/etcd/errors.js';
import type {EtcdClient} from '../../src/etcd/types.js';
import {cidrString, parseCidr} from '../../src/util/ip.js';
import {subnetKey} from '../../src/overlay/keys.js';
import {LEASE_TTL_SECONDS, SubnetRegistry, type LeaseChange} from '../../src/overlay/registry.js';
import {assertRoot} from '../helpers/docker.js';
import {EtcdCluster} from '../helpers/etcd-cluster.js';

const AGENT = fileURLToPath(new URL('../helpers/overlay-agent.js', import.meta.url));
const NET = {network: '10.240.0.0/16', subnetLen: 24, vni: 1, port: 8472};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function agent(args: object): Promise<{subnet: string; etcdLease: string; conflicts: number}> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [AGENT, JSON.stringify(args)], {stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`agent exited ${code}: ${err.trim()}`))));
  });
}

describe('overlay subnet registry on a real 3-member etcd cluster', function () {
  this.timeout(180_000);
  const cluster = new EtcdCluster();
  let etcd: EtcdClient;
  let n = 0;
  const freshRegistry = (): SubnetRegistry => new SubnetRegistry(etcd, {prefix: `/ov-test/${process.pid}/${++n}`});

  before(async () => {
    assertRoot();
    await cluster.start();
    etcd = createEtcdClient({endpoints: cluster.endpoints});
  });

  after(async () => {
    await etcd?.close();
    await cluster.cleanup();
  });

  it('writes the network config once, accepts the same again, and refuses a different one', async () => {
    const reg = freshRegistry();
    assert.deepEqual((await reg.putConfig(NET)).written, true);
    assert.equal(
      (await etcd.get(`${reg.prefix}/config`))?.value,
      '{"Network":"10.240.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}',
    );
    assert.equal((await reg.putConfig({network: '10.240.0.0/16'})).written, false, 'same network with defaults spelled out or not');
    await assert.rejects(reg.putConfig({...NET, vni: 2}), /already holds a different network config/);
    const cfg = await reg.getConfig();
    assert.equal(cidrString(cfg.network), '10.240.0.0/16');
    assert.equal(cfg.subnetMin.toString(), '10.240.1.0');
    assert.equal(cfg.subnetMax.toString(), '10.240.255.0');
  });

  it('acquires a lease, finds it again by PublicIP, renews it, and lists it with its expiry', async () => {
    const reg = freshRegistry();
    await reg.putConfig(NET);
    const a = await reg.acquire({publicIP: '192.0.2.11', vtepMac: '02:00:00:00:00:11'});
    assert.equal(a.reservation, false);
    const kv = await etcd.get(a.key);
    assert.equal(kv?.value, `{"PublicIP":"192.0.2.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:11"}}`);
    assert.equal(kv?.lease, a.etcdLease);
    const ttl = await etcd.leaseTimeToLive(a.etcdLease);
    assert.ok(ttl > LEASE_TTL_SECONDS - 60 && ttl <= LEASE_TTL_SECONDS, `TTL ${ttl}`);

    const again = await reg.acquire({publicIP: '192.0.2.11', vtepMac: '02:00:00:00:00:11'});
    assert.equal(cidrString(again.subnet), cidrString(a.subnet));
    assert.equal(again.etcdLease, a.etcdLease, 'the same etcd lease, kept alive');
    const newMac = await reg.acquire({publicIP: '192.0.2.11', vtepMac: '02:00:00:00:00:99'});
    assert.equal(cidrString(newMac.subnet), cidrString(a.subnet));
    assert.match((await etcd.get(a.key))!.value, /"VtepMAC":"02:00:00:00:00:99"/);

    const renewed = await reg.renew(newMac);
    assert.ok(renewed.expiresAt!.getTime() >= a.expiresAt!.getTime());
    const b = await reg.acquire({publicIP: '192.0.2.12', vtepMac: '02:00:00:00:00:12'});
    assert.notEqual(cidrString(b.subnet), cidrString(a.subnet));

    const {leases, invalid} = await reg.listLeases({expiry: true});
    assert.deepEqual(invalid, []);
    assert.deepEqual(leases.map((l) => l.attrs.publicIP).sort(), ['192.0.2.11', '192.0.2.12']);
    for (const l of leases) {
      const left = l.expiresAt!.getTime() - Date.now();
      assert.ok(left > (LEASE_TTL_SECONDS - 60) * 1000 && left <= LEASE_TTL_SECONDS * 1000, `${l.key} expires in ${left} ms`);
    }
  });

  it('never takes a reservation (a key without an etcd lease), but gives it to the host it names', async () => {
    const reg = freshRegistry();
    await reg.putConfig({network: '10.241.0.0/22', subnetLen: 24}); // subnets .1, .2, .3
    await etcd.put(subnetKey(reg.prefix, parseCidr('10.241.1.0/24')!), '{"PublicIP":"192.0.2.50"}');
    await etcd.put(subnetKey(reg.prefix, parseCidr('10.241.2.0/24')!), '{"PublicIP":"192.0.2.51"}');
    const c = await reg.acquire({publicIP: '192.0.2.60', vtepMac: '02:00:00:00:00:60'});
    assert.equal(cidrString(c.subnet), '10.241.3.0/24');
    await assert.rejects(
      reg.acquire({publicIP: '192.0.2.61', vtepMac: '02:00:00:00:00:61'}),
      /no free \/24 subnet left in 10\.241\.0\.0\/22/,
    );
    const owner = await reg.acquire({publicIP: '192.0.2.50', vtepMac: '02:00:00:00:00:50'});
    assert.equal(cidrString(owner.subnet), '10.241.1.0/24');
    assert.equal(owner.reservation, true);
    const kv = await etcd.get(owner.key);
    assert.equal(kv?.lease, '0', 'still a reservation');
    assert.match(kv!.value, /"VtepMAC":"02:00:00:00:00:50"/);
  });

  it('gives two processes racing for their first lease different subnets, 20 rounds', async () => {
    let conflicts = 0;
    for (let round = 0; round < 20; round++) {
      const reg = freshRegistry();
      await reg.putConfig(NET);
      const startAt = Date.now() + 700; // both processes are up by then; both then want the first free subnet
      const base = {mode: 'acquire', endpoints: cluster.endpoints, prefix: reg.prefix, pickFirst: true, startAt};
      const [x, y] = await Promise.all([
        agent({...base, publicIP: '192.0.2.21', vtepMac: '02:00:00:00:00:21'}),
        agent({...base, publicIP: '192.0.2.22', vtepMac: '02:00:00:00:00:22'}),
      ]);
      assert.notEqual(x.subnet, y.subnet, `round ${round}: both got ${x.subnet}`);
      const {leases} = await reg.listLeases();
      assert.deepEqual(leases.map((l) => cidrString(l.subnet)).sort(), [x.subnet, y.subnet].sort());
      conflicts += x.conflicts + y.conflicts;
    }
    // Each round both pick the same first subnet: the loser's transaction fails and it picks again.
    assert.ok(conflicts >= 1, `the processes never collided in 20 rounds (${conflicts} conflicts): the race was not exercised`);
    console.log(`      (${conflicts} lost transactions in 20 rounds)`);
  });

  it('a watch sees a lease added by another client within 2 s', async () => {
    const reg = freshRegistry();
    await reg.putConfig(NET);
    const seen: {change: LeaseChange; at: number}[] = [];
    const w = reg.watchLeases({onChange: (changes) => changes.forEach((change) => seen.push({change, at: Date.now()}))});
    try {
      await w.ready;
      const other = createEtcdClient({endpoints: [...cluster.endpoints].reverse()});
      const t0 = Date.now();
      try {
        await new SubnetRegistry(other, {prefix: reg.prefix}).acquire({publicIP: '192.0.2.31', vtepMac: '02:00:00:00:00:31'});
      } finally {
        await other.close();
      }
      while (seen.length === 0 && Date.now() - t0 < 2000) await sleep(20);
      assert.equal(seen.length, 1, 'one change seen within 2 s');
      const c = seen[0].change;
      assert.equal(c.type, 'added');
      assert.equal(c.type === 'added' && c.lease.attrs.publicIP, '192.0.2.31');
    } finally {
      w.close();
    }
  });

  it('acquires, lists and keeps watching with one of the three members killed (the leader)', async () => {
    const leader = await cluster.leaderIndex();
    const reg = freshRegistry();
    await reg.putConfig(NET);
    // A watcher whose stream runs through the member about to die.
    const order = [cluster.endpoints[leader], ...cluster.endpoints.filter((_, i) => i !== leader)];
    const watcher = createEtcdClient({endpoints: order});
    const added: string[] = [];
    const w = new SubnetRegistry(watcher, {prefix: reg.prefix}).watchLeases({
      onChange: (changes) => changes.forEach((c) => c.type === 'added' && added.push(c.lease.attrs.publicIP)),
    });
    try {
      await w.ready;
      await cluster.kill(leader);
      const a = await reg.acquire({publicIP: '192.0.2.41', vtepMac: '02:00:00:00:00:41'});
      const b = await reg.acquire({publicIP: '192.0.2.42', vtepMac: '02:00:00:00:00:42'});
      assert.notEqual(cidrString(a.subnet), cidrString(b.subnet));
      const {leases} = await reg.listLeases({expiry: true});
      assert.equal(leases.length, 2);
      // The client whose first endpoint is the dead member fails over too, and its watch reconnected.
      assert.equal((await new SubnetRegistry(watcher, {prefix: reg.prefix}).listLeases()).leases.length, 2);
      const t0 = Date.now();
      while (added.length < 2 && Date.now() - t0 < 5000) await sleep(50);
      assert.deepEqual(added, ['192.0.2.41', '192.0.2.42'], 'the watch resumed on another member without losing events');
    } finally {
      w.close();
      await watcher.close();
    }
  });

  it('with every member stopped, fails within 10 s with one line naming etcd and the endpoints', async () => {
    await cluster.stopAll();
    const reg = freshRegistry();
    const t0 = Date.now();
    const err = await reg.acquire({publicIP: '192.0.2.51', vtepMac: '02:00:00:00:00:51'}).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - t0;
    assert.ok(err instanceof EtcdError, `an EtcdError, got ${String(err)}`);
    assert.ok(took < 10_000, `took ${took} ms`);
    console.log(`      (failed after ${took} ms)`);
    assert.equal(err.message.split('\n').length, 1);
    assert.equal(err.message, `etcd unreachable at ${cluster.endpoints.join(', ')}: connection refused`);
  });
});
