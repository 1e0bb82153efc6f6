import {strict as assert} from 'node:assert';
import {decodeRequest, encodeRequest, frame, MAGIC, ProtocolError, readFrames, type ServiceRequest} from '../../../src/service/protocol.js';
import {handBackReason} from '../../../src/service/server.js';

const req: ServiceRequest = {
  stamp: '1795850384.7334:1795850384.7442',
  cwd: '/tmp/some dir',
  stdoutIsTTY: true,
  argv: ['attach', 'web', '--conf', 'x y.conf', '--args', 'K=V;W', '', 'ünïcode'],
  env: {PATH: '/usr/bin:/bin', EMPTY: '', EQ: 'a=b=c', NL: 'one\ntwo'},
};

describe('service/protocol', () => {
  it('a request survives encode and decode, spaces, =, newlines, empty fields and UTF-8 included', () => {
    assert.deepEqual(decodeRequest(encodeRequest(req)), req);
  });

  it('every proper prefix of a request is incomplete (undefined), never an error or a request', () => {
    const bytes = encodeRequest(req);
    for (let n = 0; n < bytes.length; n++) assert.equal(decodeRequest(bytes.subarray(0, n)), undefined, `prefix of ${n} bytes`);
  });

  it('refuses other protocols, bad counts, relative directories, bad environment entries and trailing bytes', () => {
    const bad = (b: Buffer | string, re: RegExp) => assert.throws(() => decodeRequest(Buffer.from(b)), (e: unknown) => e instanceof ProtocolError && re.test((e as Error).message));
    bad('GET / HTTP/1.1\r\n', /not a cni-docker service request/);
    bad('cni-docker-service/9\0', /unknown protocol/);
    bad(`${MAGIC}\0s\0/\x000\0x\0`, /bad argument count/);
    bad(`${MAGIC}\0s\0relative\x000\0`, /must be absolute/);
    bad(`${MAGIC}\0s\0/\x000\x000\x001\0NOEQUALS\0`, /bad environment entry/);
    bad(Buffer.concat([encodeRequest(req), Buffer.from('x')]), /trailing bytes/);
  });

  it('frames split anywhere are read back whole and in order', () => {
    const bytes = Buffer.concat([frame('o', 'out ü\n'), frame('e', ''), frame('e', Buffer.alloc(70_000, 0x61)), frame('x', '3')]);
    for (const cut of [0, 1, 4, 5, 9, 12, 70_000, bytes.length - 1]) {
      const a = readFrames(bytes.subarray(0, cut));
      const b = readFrames(Buffer.concat([a.rest, bytes.subarray(cut)]));
      const all = [...a.frames, ...b.frames];
      assert.deepEqual(all.map((f) => f.type), ['o', 'e', 'e', 'x'], `cut at ${cut}`);
      assert.equal(all[0].payload.toString('utf8'), 'out ü\n');
      assert.equal(all[2].payload.length, 70_000);
      assert.equal(all[3].payload.toString(), '3');
      assert.equal(b.rest.length, 0);
    }
  });

  it('hands back other builds, the opt-outs and test hooks, and Docker endpoints dockerode must serve', () => {
    const r = (env: Record<string, string>, stamp = 'S') => handBackReason({...req, env, stamp: 'S'}, stamp);
    assert.equal(r({PATH: '/bin'}), undefined);
    assert.equal(r({DOCKER_HOST: 'unix:///var/run/docker.sock'}), undefined);
    assert.equal(r({}, 'other'), 'stale');
    for (const k of ['CNI_DOCKER_NO_SERVICE', 'CNI_DOCKER_SERVICE_FALLBACK', 'CNI_DOCKER_NO_FAST', 'CNI_DOCKER_CRASH_AFTER', 'CNI_DOCKER_PAUSE_AFTER', 'CNI_DOCKER_NO_BUNDLE']) {
      assert.equal(r({[k]: '1'}), `${k} is set`);
    }
    assert.equal(r({DOCKER_HOST: 'ssh://me@host'}), 'DOCKER_HOST needs dockerode');
    assert.equal(r({DOCKER_HOST: 'tcp://h:2376'}), 'DOCKER_HOST needs dockerode');
    assert.equal(r({DOCKER_HOST: 'tcp://10.0.0.1:2375'}), 'DOCKER_HOST needs dockerode');
  });
});
