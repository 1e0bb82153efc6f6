import {strict as assert} from 'node:assert';
import {checkLines, gcLines, watchReport} from '../../../src/cli/render-outcome.js';
import type {GcResult} from '../../../src/runtime/gc.js';

const sync = {
  network: 'mesh',
  publicIP: '192.0.2.1',
  uplink: 'eth0',
  subnet: '10.240.3.0/24',
  device: 'flannel.1',
  vtepMac: '02:00:00:00:00:03',
  mtu: 1450,
  expiresAt: '2030-01-01T00:00:00.000Z',
  peers: [{subnet: '10.240.4.0/24', publicIP: '192.0.2.2', vtepMac: '02:00:00:00:00:04'}],
  changes: {added: ['10.240.4.0/24'], removed: []},
};
const SYNCED =
  'mesh: 10.240.3.0/24 on 192.0.2.1 (flannel.1 02:00:00:00:00:03 via eth0, lease until 2030-01-01T00:00:00.000Z), 1 peer(s) (+10.240.4.0/24)';

describe('command output', () => {
  const id = 'b'.repeat(64);

  it('check: ok, or one line per problem; nothing under --json', () => {
    const reports = [
      {container: 'web', containerId: id, network: 'n1', ifname: 'eth1', ok: true, problems: []},
      {container: 'web', containerId: id, network: 'n2', ifname: 'eth2', ok: false, problems: ['interface eth2 is missing in /x', 'p2']},
    ];
    assert.deepEqual(checkLines(reports, false), {
      out: ['web n1 eth1: ok', 'web n2 eth2: interface eth2 is missing in /x', 'web n2 eth2: p2'],
      err: [],
    });
    assert.deepEqual(checkLines(reports, true), {out: [], err: []});
  });

  it('gc: what it freed, "nothing to free", and failures on stderr with --json too', () => {
    const r: GcResult = {
      dryRun: true,
      freed: [
        {kind: 'address', network: 'n1', containerId: id, name: 'web', ifname: 'eth1', detail: '10.0.0.2', reason: 'container removed'},
      ],
      gc: [{network: 'n2', cniVersion: '1.1.0', plugins: ['bridge', 'portmap']}],
      validAttachments: 1,
      failures: [{target: 'x', message: 'failed to free y'}],
    };
    assert.deepEqual(gcLines(r, false), {
      out: [
        'would free address 10.0.0.2 of web (bbbbbbbbbbbb) on n1/eth1: container removed',
        'would send GC to bridge, portmap of n2 (1 valid attachment)',
      ],
      err: ['Error: failed to free y'],
    });
    assert.deepEqual(
      gcLines(
        {dryRun: false, freed: [], gc: [{network: 'n2', cniVersion: '1.1.0', plugins: ['bridge']}], validAttachments: 0, failures: []},
        false,
      ),
      {
        out: ['nothing to free', 'sent GC to bridge of n2 (0 valid attachments)'],
        err: [],
      },
    );
    assert.deepEqual(gcLines(r, true), {out: [], err: ['Error: failed to free y']});
  });

  it('watch: actions with their latency to stdout, the rest to stderr, each stamped', () => {
    const out: string[] = [];
    const err: string[] = [];
    const report = watchReport({out: (l) => out.push(l), err: (l) => err.push(l)}, false, () => 'T');
    report.action?.({
      action: 'reattached',
      containerId: id,
      name: 'web',
      network: 'n1',
      ifname: 'eth1',
      addresses: ['10.0.0.2/24'],
      event: 'start',
      latencyMs: 41.6,
    });
    report.action?.({action: 'failed', containerId: id, name: 'web', network: 'n2', event: 'die', message: 'boom'});
    report.info?.('following');
    assert.deepEqual(out, ['T reattached web n1 eth1 10.0.0.2/24 42 ms after start', 'T failed web n2 (die): boom']);
    assert.deepEqual(err, ['T following']);
  });

  it("watch: an overlay network's syncs go to stderr, stamped, as its other log lines", () => {
    const out: string[] = [];
    const err: string[] = [];
    const report = watchReport({out: (l) => out.push(l), err: (l) => err.push(l)}, true, () => 'T');
    report.overlay?.synced?.(sync);
    report.overlay?.peers?.({network: 'mesh', peers: [], changes: {added: ['10.240.5.0/24'], removed: []}});
    assert.deepEqual(out, []);
    assert.deepEqual(err, [`T overlay ${SYNCED}`, 'T overlay mesh: 0 peer(s) (+10.240.5.0/24)']);
  });
});
