import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {makeDeps} from '../../../src/deps.js';
import {overlayChecks} from '../../../src/runtime/overlay-doctor.js';
import {FakeRunner} from '../../helpers/fake-runner.js';
import {FakeDocker} from '../../helpers/fake-docker.js';

const silent = {debug: () => undefined, warn: () => undefined};

/**
 * The checks that need no etcd: a conf dir without overlay networks, and an
 * overlay config that does not load (reported without connecting). The line
 * of a network whose etcd answers is covered by the integration tests.
 */
describe('runtime/overlay-doctor', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tovd-unit-');
    mkdirSync(`${tmp}/conf`);
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));
  const deps = () => makeDeps({runner: new FakeRunner([]), log: silent, confDir: `${tmp}/conf`, docker: new FakeDocker([]), paths: {networksDir: `${tmp}/n`, cacheDir: `${tmp}/c`, stateDir: `${tmp}/s`, dhcpSocket: `${tmp}/d.sock`}});

  it('has nothing to say without overlay networks', async () => {
    writeFileSync(`${tmp}/conf/10-br.conf`, JSON.stringify({cniVersion: '1.0.0', name: 'tbr', type: 'bridge'}));
    assert.deepEqual(await overlayChecks(deps()), []);
  });

  it('fails an overlay config that does not load, naming the file and how to fix it', async () => {
    const file = `${tmp}/conf/10-mesh.conflist`;
    writeFileSync(file, JSON.stringify({cniVersion: '1.0.0', name: 'tmesh', plugins: [{type: 'overlay', etcdEndpoints: []}]}));
    const [c, ...rest] = await overlayChecks(deps());
    assert.deepEqual(rest, []);
    assert.equal(c.check, 'overlay');
    assert.equal(c.status, 'fail');
    assert.match(c.message, new RegExp(`^${file}: .*etcdEndpoints is missing`));
    assert.equal(c.fix, `fix or remove ${file}`);
  });
});
