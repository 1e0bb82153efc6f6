import {strict as assert} from 'node:assert';
import {
  describePeers,
  describeSync,
  followReport,
  overlayInitLines,
  overlayStatusText,
  overlaySyncLines,
} from '../../../src/cli/render-overlay.js';
import type {OverlayStatus} from '../../../src/runtime/overlay/status.js';

const r = {
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

describe('overlay command output', () => {
  it('says what a sync did in one line', () => {
    assert.equal(describeSync(r), SYNCED);
    assert.equal(
      describePeers({network: 'mesh', peers: [], changes: {added: [], removed: ['10.240.4.0/24']}}),
      'mesh: 0 peer(s) (-10.240.4.0/24)',
    );
    assert.deepEqual(overlaySyncLines(r, false), {out: [SYNCED], err: []});
    assert.deepEqual(overlaySyncLines(r, true), {out: [], err: []});
  });

  it('init: wrote or already there, nothing under --json', () => {
    const i = {
      key: '/p/config',
      written: true,
      stored: '{"Network":"10.240.0.0/16"}',
      overlay: {network: '10.240.0.0/16', subnetLen: 24, subnetMin: '10.240.1.0', subnetMax: '10.240.255.0', vni: 1, port: 8472},
    };
    assert.deepEqual(overlayInitLines(i, false).out, ['wrote /p/config {"Network":"10.240.0.0/16"}']);
    assert.deepEqual(overlayInitLines({...i, written: false}, false).out, ['already there: /p/config {"Network":"10.240.0.0/16"}']);
    assert.deepEqual(overlayInitLines(i, true).out, []);
  });

  it('sync --follow: a stamped line per event, a JSON line per event under --json, failures to stderr', () => {
    const out: string[] = [];
    const err: string[] = [];
    const print = {out: (l: string) => out.push(l), err: (l: string) => err.push(l)};
    const text = followReport(print, false, () => 'T');
    text.synced?.(r);
    text.peers?.({network: 'mesh', peers: [], changes: {added: [], removed: ['10.240.4.0/24']}});
    text.info?.('etcd watch: gone (reconnecting)');
    const json = followReport(print, true, () => 'T');
    json.synced?.(r);
    assert.deepEqual(out, [`T synced ${SYNCED}`, 'T peers mesh: 0 peer(s) (-10.240.4.0/24)', JSON.stringify({event: 'synced', ...r})]);
    assert.deepEqual(err, ['T etcd watch: gone (reconnecting)']);
  });

  it("status: a heading and the lease table (this host's marked), the note and bad keys for stderr", () => {
    const s: OverlayStatus = {
      network: 'mesh',
      prefix: '/p',
      endpoints: ['http://e:2379'],
      overlay: {network: '10.240.0.0/16', subnetLen: 24, subnetMin: '10.240.1.0', subnetMax: '10.240.255.0', vni: 1, port: 8472},
      note: 'n',
      invalid: [{key: '/p/subnets/x', error: 'bad'}],
      leases: [
        {
          subnet: '10.240.3.0/24',
          publicIP: '192.0.2.1',
          vtepMac: '02:00:00:00:00:03',
          expiresAt: '1970-01-01T01:00:00.000Z',
          reservation: false,
          mine: true,
        },
        {subnet: '10.240.4.0/24', publicIP: '192.0.2.2', reservation: true, mine: false},
      ],
    };
    const t = overlayStatusText(s, {isTTY: false}, {}, 0);
    assert.equal(
      t.out,
      [
        'mesh: overlay 10.240.0.0/16, /24 per host, vxlan VNI 1 port 8472 (etcd http://e:2379, prefix /p)',
        '*\t10.240.3.0/24\t192.0.2.1\t02:00:00:00:00:03\t1970-01-01T01:00:00.000Z (60 min)',
        '\t10.240.4.0/24\t192.0.2.2\t-\tnever (reservation)',
        '',
      ].join('\n'),
    );
    assert.deepEqual(t.err, ['Note: n', 'warning: /p/subnets/x: bad']);
  });
});
