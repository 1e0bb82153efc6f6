import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {errnoText, isExists} from './errors.js';
import {failedBatchLine, ip, ipJsonBatch, type IpLine} from './iproute.js';
import {delLink, getLink, listPorts, parseLinks, type LinkInfo} from './link.js';

/** Bridge devices and their ports (the reference bridge.go's ensureBridge and port set-up). */
const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface BridgeSpec {
  name: string;
  mtu: number;
  promisc: boolean;
}

export interface PortSpec {
  bridge: string;
  hairpin: boolean;
  isolated?: boolean;
}

const upLine = (spec: BridgeSpec): IpLine => ['link', 'set', 'dev', spec.name, ...(spec.promisc ? ['promisc', 'on'] : []), 'up'];

/** Whether a link read is this bridge, ready for a port: a bridge, up, promiscuous when asked. */
export function isReadyBridge(link: LinkInfo | undefined, spec: BridgeSpec): link is LinkInfo {
  return link?.linkinfo?.info_kind === 'bridge' && link.flags.includes('UP') && (!spec.promisc || link.flags.includes('PROMISC'));
}

/**
 * Create the bridge if needed, check it is one, set promisc and up. A new
 * bridge is added, set up and read back in one `ip` process; an existing one
 * that is already up (and promiscuous when asked) is only read.
 */
export async function ensureBridge(runner: Runner, spec: BridgeSpec): Promise<{link: LinkInfo; created: boolean}> {
  let link = await getLink(runner, spec.name);
  if (!link) {
    const add = ['link', 'add', spec.name, ...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'type', 'bridge'];
    try {
      const {outputs} = await ipJsonBatch(runner, [add, upLine(spec), ['link', 'show', 'dev', spec.name]]);
      link = parseLinks(outputs[0] ?? [])[0];
      if (!link) throw fail(`could not lookup "${spec.name}": Link not found`);
      return {link, created: true};
    } catch (err) {
      if (err instanceof CniError) throw err;
      // Someone else created it first: go on with theirs, as below.
      if (!isExists(err) || (err instanceof CommandError && failedBatchLine(err.stderr) !== 1))
        throw fail(`could not add "${spec.name}": ${errnoText(err)}`);
    }
    link = await getLink(runner, spec.name);
    if (!link) throw fail(`could not lookup "${spec.name}": Link not found`);
  }
  if (link.linkinfo?.info_kind !== 'bridge') throw fail(`"${spec.name}" already exists but is not a bridge`);
  if (!isReadyBridge(link, spec)) await ip(runner, upLine(spec));
  return {link, created: false};
}

/** Delete a bridge we created, unless some other attachment has joined it meanwhile. */
export async function delBridgeIfUnused(runner: Runner, name: string): Promise<void> {
  if ((await listPorts(runner, name)).length === 0) await delLink(runner, name);
}

/** The commands that make `port` a port of the bridge: up, enslaved, hairpin (and isolation) set. */
export function portLines(port: string, p: PortSpec): IpLine[] {
  const slave = ['link', 'set', 'dev', port, 'type', 'bridge_slave', 'hairpin', p.hairpin ? 'on' : 'off'];
  if (p.isolated !== undefined) slave.push('isolated', p.isolated ? 'on' : 'off');
  return [['link', 'set', 'dev', port, 'up'], ['link', 'set', 'dev', port, 'master', p.bridge], slave];
}

/**
 * Poll a bridge port until it is oper-UP (reference retry schedule); return
 * it. `first` is a read already made, standing for the first poll.
 */
export async function waitPortUp(
  runner: Runner,
  port: string,
  sleep = realSleep,
  first?: {operstate?: string; address?: string},
): Promise<{operstate?: string; address?: string}> {
  const schedule = [0, 50, 500, 1000, 1000];
  let last: {operstate?: string; address?: string} | undefined;
  for (const [i, ms] of schedule.entries()) {
    if (ms) await sleep(ms);
    last = i === 0 && first ? first : await getLink(runner, port);
    if (!last) throw fail(`failed to lookup "${port}": Link not found`);
    if (last.operstate === 'UP') return last;
  }
  throw fail(`bridge port in error state: ${last?.operstate ?? 'unknown'}`);
}
