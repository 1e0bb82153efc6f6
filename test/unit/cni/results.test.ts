import {strict as assert} from 'node:assert';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {parseResult, renderResult} from '../../../src/cni/results.js';
import {toCniError} from '../../../src/cni/errors.js';
import {goMarshalIndent} from '../../../src/cni/json.js';
import type {CniInterface, Result} from '../../../src/cni/types.js';

/**
 * Goldens: stdout of the reference 1.1.1 plugins captured on this machine by
 * test/fixtures/results/capture.sh. Our rendering of the equivalent internal
 * model must be byte-identical for every cniVersion.
 */
const dir = fileURLToPath(new URL('../../../../test/fixtures/results/', import.meta.url));
const fixture = (name: string): string => readFileSync(dir + name, 'utf8');
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', ''];

const hostLocalModel: Result = {
  cniVersion: '1.1.0',
  ips: [
    {address: '10.210.1.2/29', gateway: '10.210.1.1'},
    {address: 'fd00:d2::10/120', gateway: 'fd00:d2::1'},
  ],
  routes: [{dst: '0.0.0.0/0'}, {dst: '::/0'}, {dst: '10.210.9.7/24', gw: '10.210.1.1', priority: 100}],
  dns: {nameservers: ['10.210.0.53', 'fd00:d2::53'], domain: 'inv.local', search: ['a.inv', 'b.inv'], options: ['ndots:2']},
};

/** The bridge model; MACs and the host veth name are random per capture, so they come from the file. */
function bridgeModel(ifs: CniInterface[]): Result {
  return {
    cniVersion: '1.1.0',
    interfaces: ifs,
    ips: [{interface: 2, address: '10.210.3.2/24', gateway: '10.210.3.1'}],
    routes: [{dst: '0.0.0.0/0'}],
    dns: {nameservers: ['10.210.3.1'], search: ['g.inv']},
  };
}

function capturedInterfaces(text: string): CniInterface[] {
  const j = JSON.parse(text) as {interfaces?: CniInterface[]};
  return j.interfaces ?? [{name: 'tcorebr0'}, {name: 'vethX'}, {name: 'eth0', sandbox: '/var/run/netns/tcore-capc'}];
}

describe('results goldens (reference 1.1.1 output, byte-for-byte)', () => {
  for (const v of VERSIONS) {
    const name = v || 'none';
    it(`host-local dual-stack result renders as the reference at ${name}`, () => {
      assert.equal(renderResult(hostLocalModel, v), fixture(`hostlocal-${name}.json`));
    });
    it(`bridge isGateway result renders as the reference at ${name}`, () => {
      const text = fixture(`bridge-${name}.json`);
      assert.equal(renderResult(bridgeModel(capturedInterfaces(text)), v), text);
    });
    it(`parsing the reference ${name} output and printing it again is identity`, () => {
      for (const f of [`hostlocal-${name}.json`, `bridge-${name}.json`]) {
        const text = fixture(f);
        assert.equal(renderResult(parseResult(JSON.parse(text)), v), text, f);
      }
    });
  }

  it('the 1.0.0 host-local output converts down to exactly the reference 0.2.0 output', () => {
    const r = parseResult(JSON.parse(fixture('hostlocal-1.0.0.json')));
    assert.equal(renderResult(r, '0.2.0'), fixture('hostlocal-0.2.0.json'));
    assert.equal(renderResult(r, '0.4.0'), fixture('hostlocal-0.4.0.json'));
  });

  it('the 0.2.0 output converts up to the reference 1.0.0 output (routes ip4 then ip6)', () => {
    const r = parseResult(JSON.parse(fixture('hostlocal-0.2.0.json')));
    assert.deepEqual(
      r.routes?.map((x) => x.dst),
      ['0.0.0.0/0', '10.210.9.7/24', '::/0'],
    );
    assert.equal(r.ips?.length, 2);
  });

  it('an L2 result at 0.4.0 prints interfaces and "dns": {} only', () => {
    const text = fixture('bridge-l2-0.4.0.json');
    assert.equal(renderResult({cniVersion: '1.1.0', interfaces: capturedInterfaces(text)}, '0.4.0'), text);
  });

  it('an L2 result at 0.2.0 fails exactly as the reference does', () => {
    let err: unknown;
    try {
      renderResult({cniVersion: '1.1.0', interfaces: [{name: 'eth0'}]}, '0.2.0');
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'expected a conversion error');
    assert.equal(goMarshalIndent(toCniError(err).toJSON()), fixture('bridge-l2-0.2.0.json'));
  });

  it('1.1.0 keeps the fields 1.0.0 drops (route priority, interface mtu)', () => {
    const r: Result = {
      ...hostLocalModel,
      interfaces: [{name: 'eth0', mtu: 1400, sandbox: '/x'}],
      ips: [{interface: 0, address: '10.210.1.2/29'}],
    };
    const j = JSON.parse(renderResult(r, '1.1.0')) as {routes: {priority?: number}[]; interfaces: {mtu?: number}[]};
    assert.equal(j.routes[2].priority, 100);
    assert.equal(j.interfaces[0].mtu, 1400);
    assert.ok(!renderResult(r, '1.0.0').includes('priority'));
    assert.deepEqual(Object.keys(j.interfaces[0]), ['name', 'mtu', 'sandbox']);
  });
});
