import {strict as assert} from 'node:assert';
import {checkLines, gcLines, watchReport} from '../../../src/cli/render-outcome.js';
import {networkTable} from '../../../src/cli/render.js';
import type {GcResult} from '../../../src/runtime/gc.js';
import type {NetworkInfo} from '../../../src/runtime/list-networks.js';

describe('command output', () => {
  const id = 'b'.repeat(64);

  it('check: ok, or one line per problem; nothing under --json', () => {
    const reports = [
      {container: 'web', containerId: id, network: 'n1', ifname: 'eth1', ok: true, problems: []},
      {container: 'web', containerId: id, network: 'n2', ifname: 'eth2', ok: false, problems: ['interface eth2 is missing in /x', 'p2']},
    ];
    assert.deepEqual(checkLines(reports, false), {out: ['web n1 eth1: ok', 'web n2 eth2: interface eth2 is missing in /x', 'web n2 eth2: p2'], err: []});
    assert.deepEqual(checkLines(reports, true), {out: [], err: []});
  });

  it('gc: what it freed, "nothing to free", and failures on stderr with --json too', () => {
    const r: GcResult = {
      dryRun: true,
      freed: [{kind: 'address', network: 'n1', containerId: id, name: 'web', ifname: 'eth1', detail: '10.0.0.2', reason: 'container removed'}],
      gc: [{network: 'n2', cniVersion: '1.1.0', plugins: ['bridge', 'portmap']}],
      validAttachments: 1,
      failures: [{target: 'x', message: 'failed to free y'}],
    };
    assert.deepEqual(gcLines(r, false), {
      out: ['would free address 10.0.0.2 of web (bbbbbbbbbbbb) on n1/eth1: container removed', 'would send GC to bridge, portmap of n2 (1 valid attachment)'],
      err: ['Error: failed to free y'],
    });
    assert.deepEqual(gcLines({dryRun: false, freed: [], gc: [{network: 'n2', cniVersion: '1.1.0', plugins: ['bridge']}], validAttachments: 0, failures: []}, false), {
      out: ['nothing to free', 'sent GC to bridge of n2 (0 valid attachments)'],
      err: [],
    });
    assert.deepEqual(gcLines(r, true), {out: [], err: ['Error: failed to free y']});
  });

  it('watch: actions with their latency to stdout, the rest to stderr, each stamped', () => {
    const out: string[] = [];
    const err: string[] = [];
    const report = watchReport({out: (l) => out.push(l), err: (l) => err.push(l)}, false, () => 'T');
    report.action?.({action: 'reattached', containerId: id, name: 'web', network: 'n1', ifname: 'eth1', addresses: ['10.0.0.2/24'], event: 'start', latencyMs: 41.6});
    report.action?.({action: 'failed', containerId: id, name: 'web', network: 'n2', event: 'die', message: 'boom'});
    report.info?.('following');
    assert.deepEqual(out, ['T reattached web n1 eth1 10.0.0.2/24 42 ms after start', 'T failed web n2 (die): boom']);
    assert.deepEqual(err, ['T following']);
  });

  it('networks: piped rows, the error in place of the file', async () => {
    const nets: NetworkInfo[] = [
      {file: '/c/a.conf', name: 'a', type: 'bridge', cniVersion: '1.0.0', subnets: ['10.1.0.0/24'], ipam: 'host-local', used: 1, free: 252},
      {file: '/c/b.conf', name: '', type: '', cniVersion: '', subnets: [], error: 'bad'},
    ];
    assert.equal(await networkTable(nets, {isTTY: false}, {}), 'a\tbridge/host-local\t1.0.0\t10.1.0.0/24\t1\t252\t/c/a.conf\n-\t-\t-\t-\t-\t-\t/c/b.conf: bad\n');
  });
});
