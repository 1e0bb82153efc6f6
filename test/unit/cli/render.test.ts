import {strict as assert} from 'node:assert';
import {attachmentTable, networkTable} from '../../../src/cli/render.js';
import type {ListedAttachment} from '../../../src/runtime/list-attachments.js';
import type {NetworkInfo} from '../../../src/runtime/list-networks.js';

const row = (container: string, state: ListedAttachment['state']): ListedAttachment => ({
  container,
  containerId: 'a'.repeat(64),
  kind: 'container',
  network: 'net1',
  type: 'bridge',
  ifname: 'eth1',
  netns: '/var/run/docker/netns/x',
  addresses: ['10.1.0.2/24'],
  gateways: ['10.1.0.1'],
  mac: '02:00:00:00:00:01',
  state,
});

describe('attachmentTable', () => {
  const rows = [row('web', 'running'), row('db', 'gone')];

  it('piped: tab-separated rows, no header, no escape codes (chalk is not needed); published ports last', async () => {
    const text = await attachmentTable(rows, {isTTY: false}, {});
    assert.equal(
      text,
      `web\taaaaaaaaaaaa\tnet1\tbridge\teth1\t10.1.0.2/24\t02:00:00:00:00:01\t10.1.0.1\trunning\t-\ndb\taaaaaaaaaaaa\tnet1\tbridge\teth1\t10.1.0.2/24\t02:00:00:00:00:01\t10.1.0.1\tgone\t-\n`,
    );
    const published = {
      ...row('web', 'running'),
      ports: [
        {hostPort: 18080, containerPort: 8080, protocol: 'tcp' as const},
        {hostPort: 53, containerPort: 5353, protocol: 'udp' as const, hostIP: 'fd00::1'},
      ],
    };
    assert.equal(
      (await attachmentTable([published], {isTTY: false}, {})).trimEnd().split('\t')[9],
      '18080->8080/tcp,[fd00::1]:53->5353/udp',
    );
  });

  it('on a terminal: a bold header and the state coloured (green running, red gone)', async () => {
    const text = await attachmentTable(rows, {isTTY: true}, {});
    const lines = text.split('\n');
    assert.ok(lines[0].startsWith('\x1b[1m') && /container/i.test(lines[0]), lines[0]);
    // The state column is padded before it is coloured (ports follow it).
    assert.ok(lines[1].includes(`\x1b[32m${'running'.padEnd(7)}\x1b[39m`), lines[1]);
    assert.ok(lines[2].includes(`\x1b[31m${'gone'.padEnd(7)}\x1b[39m`), lines[2]);
    assert.match(lines[0], /PORTS/);
  });

  it('on a terminal with NO_COLOR: aligned, no escape codes', async () => {
    const text = await attachmentTable(rows, {isTTY: true}, {NO_COLOR: '1'});
    assert.ok(!text.includes('\x1b['), text);
    assert.match(text.split('\n')[0], /CONTAINER\s+ID\s+NETWORK/i);
  });
});

describe('networkTable', () => {
  it('networks: piped rows, the error in place of the file', async () => {
    const nets: NetworkInfo[] = [
      {file: '/c/a.conf', name: 'a', type: 'bridge', cniVersion: '1.0.0', subnets: ['10.1.0.0/24'], ipam: 'host-local', used: 1, free: 252},
      {file: '/c/b.conf', name: '', type: '', cniVersion: '', subnets: [], error: 'bad'},
    ];
    assert.equal(
      await networkTable(nets, {isTTY: false}, {}),
      'a\tbridge/host-local\t1.0.0\t10.1.0.0/24\t1\t252\t/c/a.conf\n-\t-\t-\t-\t-\t-\t/c/b.conf: bad\n',
    );
  });
});
