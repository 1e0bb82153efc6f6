import {strict as assert} from 'node:assert';
import {CommandError} from '../../../src/exec/runner.js';
import {errnoText, isExists, isNetnsMissing, isNotFound} from '../../../src/net/errors.js';

const cmdErr = (stderr: string, stdout = '', code = 1) => new CommandError(['ip', 'link', 'del', 'x'], code, stdout, stderr);

describe('net/errors', () => {
  it('isNotFound recognises the "already gone" words of ip, iptables, nsenter and friends', () => {
    for (const stderr of [
      'Cannot find device "veth1"',
      'RTNETLINK answers: No such process',
      'Error: Nexthop device is not up.\nRTNETLINK answers: No such device',
      'iptables: Bad rule (does a matching rule exist in that chain?).',
      'iptables: No chain/target/match by that name.',
      'Error: argument "x" is wrong: Device does not exist',
      'RTNETLINK answers: Cannot assign requested address',
      'Error: No such file or directory',
    ]) {
      assert.equal(isNotFound(cmdErr(stderr)), true, stderr);
    }
  });

  it("isNotFound also reads a command's stdout, and a plain error's message", () => {
    assert.equal(isNotFound(cmdErr('', 'Link not found')), true);
    assert.equal(isNotFound(new Error('link not found')), true);
    assert.equal(isNotFound('no such device'), true);
  });

  it('isNotFound is false for other failures, whatever the argv says', () => {
    // The argv is part of CommandError's message, not of what the command said.
    const e = new CommandError(['ip', 'link', 'set', 'x', 'alias', 'link not found'], 2, '', 'RTNETLINK answers: Operation not permitted');
    assert.equal(isNotFound(e), false);
    assert.equal(isNotFound(cmdErr('RTNETLINK answers: File exists')), false);
    assert.equal(isNotFound(new Error('permission denied')), false);
  });

  it('isExists recognises "file exists" and "already exists/assigned"', () => {
    assert.equal(isExists(cmdErr('RTNETLINK answers: File exists')), true);
    assert.equal(isExists(cmdErr('Error: Chain already exists.')), true);
    assert.equal(isExists(new Error('address already assigned')), true);
    assert.equal(isExists(cmdErr('Cannot find device "x"')), false);
  });

  it('isNetnsMissing is only nsenter failing to open the namespace path', () => {
    assert.equal(isNetnsMissing(cmdErr('nsenter: cannot open /run/netns/gone: No such file or directory')), true);
    assert.equal(isNetnsMissing(cmdErr('nsenter: cannot open /run/netns/x: Permission denied')), false);
    assert.equal(isNetnsMissing(cmdErr('Cannot open network namespace "x": No such file or directory')), false);
    assert.equal(
      isNetnsMissing(new Error('nsenter: cannot open /run/netns/gone: No such file or directory')),
      false,
      'a plain error is not a failed nsenter',
    );
  });

  it("errnoText gives the kernel's words in lower case, without the final dot", () => {
    assert.equal(errnoText(cmdErr('RTNETLINK answers: File exists\n')), 'file exists');
    assert.equal(errnoText(cmdErr('Error: Nexthop has invalid gateway.\n')), 'nexthop has invalid gateway');
  });

  it('errnoText falls back to what the command said, or to the message', () => {
    assert.equal(errnoText(cmdErr('iptables v1.8.9: unknown option "--bogus"\n')), 'iptables v1.8.9: unknown option "--bogus"');
    assert.equal(errnoText(cmdErr('', '', 3)), 'exit status 3');
    assert.equal(errnoText(new Error('Some Error')), 'Some Error');
  });
});
