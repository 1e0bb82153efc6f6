import {strict as assert} from 'node:assert';
import {rememberLast} from '../../../src/util/remember-last.js';

describe('util/remember-last rememberLast', () => {
  it('parses once for the same pair in a row, again for another pair', () => {
    let calls = 0;
    const parse = rememberLast((stdin: string, args: string) => ({stdin, args, n: ++calls}));
    const a = parse('{"name":"a"}', '');
    assert.equal(parse('{"name":"a"}', ''), a);
    assert.equal(calls, 1);
    assert.equal(parse('{"name":"a"}', 'IP=10.0.0.2').n, 2);
    assert.equal(parse('{"name":"b"}', 'IP=10.0.0.2').n, 3);
    assert.equal(parse('{"name":"a"}', '').n, 4, 'only the last pair is kept');
  });

  it('remembers no failure: the same input fails again', () => {
    let calls = 0;
    const parse = rememberLast((stdin: string) => {
      calls++;
      if (stdin === 'bad') throw new Error('no');
      return stdin;
    });
    assert.equal(parse('good', ''), 'good');
    assert.throws(() => parse('bad', ''), /no/);
    assert.throws(() => parse('bad', ''), /no/);
    assert.equal(calls, 3);
    assert.equal(parse('good', ''), 'good');
    assert.equal(calls, 3, 'a failure leaves the last answer in place');
  });
});

describe('util/remember-last: what it hands out is frozen', () => {
  it("a caller changing the remembered config throws instead of changing the next caller's", () => {
    const parse = rememberLast((stdin: string) => JSON.parse(stdin) as {routes: {dst: string}[]});
    const first = parse('{"routes":[{"dst":"0.0.0.0/0"}]}', '');
    assert.throws(() => first.routes.push({dst: '10.0.0.0/8'}), TypeError);
    assert.throws(() => {
      first.routes[0].dst = '10.0.0.0/8';
    }, TypeError);
    assert.deepEqual(parse('{"routes":[{"dst":"0.0.0.0/0"}]}', '').routes, [{dst: '0.0.0.0/0'}]);
  });
});
