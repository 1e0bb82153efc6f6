import {strict as assert} from 'node:assert';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {OverlayBed} from '../helpers/overlay-bed.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('overlay: two hosts racing for their first lease through the CLI', function () {
  this.timeout(600_000);
  // Two /24 subnets to lease (SubnetMin..SubnetMax): two hosts picking at random want the same one half the time.
  const bed = new OverlayBed({
    sims: 2,
    name: 'ovrace',
    prefix: `/ov-race/${process.pid}`,
    bridge: 'ov-br2',
    vni: 29,
    network: '10.244.0.0/22',
  });
  const [h1, h2] = bed.hosts.sims;

  before(async () => {
    await bed.setup();
  });

  after(async () => {
    await bed.cleanup();
  });

  it('overlay sync on both at once gets different subnets, 20 rounds', async () => {
    let lost = 0;
    for (let round = 0; round < 20; round++) {
      const prefix = `${bed.opts.prefix}/${round}`;
      await bed.ok(bed.hosts.real, [
        'overlay',
        'init',
        '--etcd',
        bed.cluster.endpoints.join(','),
        '--prefix',
        prefix,
        '--network',
        bed.opts.network,
        '--subnet-min',
        '10.244.1.0',
        '--subnet-max',
        '10.244.2.0',
        '--vni',
        String(bed.opts.vni),
      ]);
      // Both processes stop just before acquiring and go on together once the file appears.
      const go = join(bed.dir, `go-${round}`);
      const runs = [h1, h2].map((h) => {
        const conf = bed.writeConf(h, {etcdPrefix: prefix}, join(bed.dir, `round-${round}-${h.name}.conf`));
        return bed.start(h, ['overlay', 'sync', '--conf', conf, '--json'], {
          CNI_DOCKER_PAUSE_AFTER: `overlay:acquire=${go}`,
          CNI_DOCKER_DEBUG: '1',
        });
      });
      const t0 = Date.now();
      while (!runs.every((r) => r.err.some((l) => l.includes('pause-hook: paused after overlay:acquire')))) {
        if (Date.now() - t0 > 20_000)
          assert.fail(`round ${round}: not both at the acquire: ${runs.map((r) => r.err.join(' ')).join(' | ')}`);
        await sleep(20);
      }
      writeFileSync(go, '');
      const subnets = await Promise.all(
        runs.map(async (r, i) => {
          const code = await new Promise<number | null>((res) =>
            r.proc.exitCode !== null ? res(r.proc.exitCode) : r.proc.once('exit', res),
          );
          assert.equal(code, 0, `round ${round} ${[h1, h2][i].name}: ${r.err.join('\n')}`);
          return (JSON.parse(r.out.join('\n')) as {subnet: string}).subnet;
        }),
      );
      assert.notEqual(subnets[0], subnets[1], `round ${round}: both got ${subnets[0]}`);
      const s = await bed.ok<{leases: {subnet: string; publicIP: string}[]}>(h1, [
        'overlay',
        'status',
        '--conf',
        join(bed.dir, `round-${round}-${h1.name}.conf`),
        '--json',
      ]);
      assert.deepEqual(
        s.leases.map((l) => `${l.publicIP} ${l.subnet}`).sort(),
        [`${h1.publicIP} ${subnets[0]}`, `${h2.publicIP} ${subnets[1]}`].sort(),
      );
      lost += runs.flatMap((r) => r.err).filter((l) => /another host took .* first; choosing again/.test(l)).length;
    }
    console.log(`      (${lost} lost transactions in 20 rounds)`);
  });
});
