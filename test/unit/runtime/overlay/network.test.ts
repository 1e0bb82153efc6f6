import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {loadConfList} from '../../../../src/cni/config.js';
import {CniError} from '../../../../src/cni/errors.js';
import {UsageError, UserError} from '../../../../src/errors.js';
import {overlayNetworksIn, overlayOf, resolveOverlay} from '../../../../src/runtime/overlay/network.js';

const overlay = {type: 'overlay', etcdEndpoints: ['http://10.0.0.1:2379'], etcdPrefix: '/tov/net'};
const list = (name: string, plugins: object[], cniVersion = '1.0.0') => ({cniVersion, name, plugins});

describe('runtime/overlay/network', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync('/tmp/tovn-unit-');
    mkdirSync(`${tmp}/conf`);
  });
  afterEach(() => rmSync(tmp, {recursive: true, force: true}));
  const conf = (file: string, o: object) => writeFileSync(`${tmp}/conf/${file}`, JSON.stringify(o));

  it('overlayOf reads the overlay plugin as the plugin receives it: name and version from the list', () => {
    const c = overlayOf(loadConfList(JSON.stringify(list('tmesh', [overlay, {type: 'portmap'}]))));
    assert.equal(c?.name, 'tmesh');
    assert.equal(c?.prefix, '/tov/net');
    assert.equal(overlayOf(loadConfList(JSON.stringify(list('tbr', [{type: 'bridge'}])))), undefined);
    assert.throws(() => overlayOf(loadConfList(JSON.stringify(list('tbad', [{...overlay, etcdEndpoints: []}])))), CniError);
  });

  it('resolveOverlay wants --conf or --net, and refuses a network that is not an overlay or does not load as one', async () => {
    conf('10-br.conflist', list('tbr', [{type: 'bridge'}, {type: 'portmap'}]));
    conf('20-bad.conflist', list('tbad', [{...overlay, etcdEndpoints: ['file:///etc/passwd']}]));
    conf('30-ok.conflist', list('tok', [overlay]));
    await assert.rejects(resolveOverlay({}, `${tmp}/conf`, tmp), UsageError);
    await assert.rejects(
      resolveOverlay({net: 'tbr'}, `${tmp}/conf`, tmp),
      (e: unknown) => e instanceof UserError && /network tbr is not an overlay network \(type bridge\+portmap\)/.test(e.message),
    );
    await assert.rejects(
      resolveOverlay({net: 'tbad'}, `${tmp}/conf`, tmp),
      /^UserError: invalid network config tbad: .*scheme must be http or https/,
    );
    const ok = await resolveOverlay({conf: 'conf/30-ok.conflist'}, `${tmp}/elsewhere`, tmp);
    assert.equal(ok.list.name, 'tok');
    assert.deepEqual(ok.conf.etcd.endpoints, ['http://10.0.0.1:2379']);
  });

  it('overlayNetworksIn: the overlay networks of the conf dir and the overlay configs that do not load, nothing else', async () => {
    conf('10-br.conflist', list('tbr', [{type: 'bridge'}]));
    conf('20-bad.conflist', list('tbad', [{...overlay, etcdEndpoints: []}]));
    conf('30-ok.conflist', list('tok', [overlay]));
    writeFileSync(`${tmp}/conf/40-junk.conflist`, 'not json');
    const found = await overlayNetworksIn(`${tmp}/conf`);
    assert.deepEqual(
      found.map((f) => [f.file.slice(tmp.length), f.network?.list.name, Boolean(f.error)]),
      [
        ['/conf/20-bad.conflist', undefined, true],
        ['/conf/30-ok.conflist', 'tok', false],
      ],
    );
    assert.deepEqual(await overlayNetworksIn(`${tmp}/nonexistent`), []);
  });
});
