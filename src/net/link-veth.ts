import type {Runner} from '../exec/runner.js';
import {CommandError} from '../exec/runner.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {errnoText, isExists} from './errors.js';
import {failedBatchLine, ipBatch, ipJsonBatch, type IpLine} from './iproute.js';
import {delLink, getLink, parseLinks, randomLinkName, type LinkInfo} from './link.js';
import {isReadyBridge, portLines, type BridgeSpec, type PortSpec} from './link-bridge.js';
import {randomMac} from './mac.js';

/**
 * veth pairs on a bridge (the reference bridge.go's setupVeth): the host end
 * `vethXXXXXXXX` here, the container end made directly in its namespace, the
 * host end made a port of the bridge, all in one `ip` process.
 */
const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

export interface VethSpec {
  netns: string;
  ifname: string;
  mtu: number;
  /** Container-side MAC; a random one when empty. */
  mac?: string;
}

export interface Veth {
  hostName: string;
  containerMac: string;
}

/** The container end's MAC: the configured one (normalised) or a random one. */
function vethMac(spec: VethSpec): string {
  const raw = (spec.mac || randomMac()).toLowerCase();
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/.test(raw)) throw fail(`address ${spec.mac}: invalid MAC address`);
  return raw.replace(/-/g, ':');
}

/** The pair (host end `hostName`, container end in its namespace) and the host end's port set-up. */
function vethLines(hostName: string, spec: VethSpec, mac: string, port: PortSpec): IpLine[] {
  // netlink.Veth in the reference sends IFLA_TXQLEN 0 for both ends.
  const mtu = [...(spec.mtu ? ['mtu', String(spec.mtu)] : []), 'txqlen', '0'];
  return [
    ['link', 'add', hostName, ...mtu, 'type', 'veth', 'peer', 'name', spec.ifname, ...mtu, 'address', mac, 'netns', spec.netns],
    ...portLines(hostName, port),
  ];
}

/**
 * The usual ADD, on a bridge that is already there and up, in one `ip`
 * process: read the bridge (before the new port can change its MAC, as
 * ensureBridge reads it) and make the veth pair on it. Undefined when that
 * does not hold (no such bridge yet, not a bridge, down, not promiscuous as
 * asked, a name taken): whatever the attempt made is deleted again, and the
 * caller takes the step-by-step path (ensureBridge, createVeth), which
 * handles and reports each of those cases.
 */
export async function vethOnExistingBridge(
  runner: Runner,
  br: BridgeSpec,
  spec: VethSpec,
  port: PortSpec,
  nameFn = randomLinkName,
): Promise<(Veth & {link: LinkInfo}) | undefined> {
  const mac = vethMac(spec);
  const hostName = nameFn();
  const {outputs, run} = await ipJsonBatch(
    runner,
    [['link', 'show', 'dev', br.name], ...vethLines(hostName, spec, mac, port)],
    undefined,
    false,
  );
  const link = parseLinks(outputs[0] ?? [])[0];
  if (run.exitCode === 0 && isReadyBridge(link, br)) return {link, hostName, containerMac: mac};
  // Stopped at the bridge read or the pair itself: nothing was made.
  const line = run.exitCode === 0 ? undefined : failedBatchLine(run.stderr);
  if (line === undefined || line > 2) await delLink(runner, hostName);
  return undefined;
}

/**
 * Create the pair and make the host end a port of the bridge in one
 * `ip -batch`; a failure after the pair exists deletes the pair. A host name
 * that is taken is drawn again.
 */
export async function createVeth(runner: Runner, spec: VethSpec, port: PortSpec, nameFn = randomLinkName): Promise<Veth> {
  const mac = vethMac(spec);
  for (let i = 0; i < 10; i++) {
    const hostName = nameFn();
    try {
      await ipBatch(runner, vethLines(hostName, spec, mac, port));
      return {hostName, containerMac: mac};
    } catch (err) {
      if (err instanceof CommandError && (failedBatchLine(err.stderr) ?? 1) > 1) {
        await delLink(runner, hostName).catch(() => undefined);
        throw fail(`failed to connect "${hostName}" to bridge ${port.bridge}: ${errnoText(err)}`);
      }
      if (err instanceof CommandError && /"netns" value/.test(err.stderr)) {
        throw fail(`failed to open netns "${spec.netns}": failed to Statfs "${spec.netns}": no such file or directory`);
      }
      if (!isExists(err)) throw fail(`failed to make veth pair: ${errnoText(err)}`);
      if (await getLink(runner, hostName)) continue;
      throw fail(`container veth name provided (${spec.ifname}) already exists`);
    }
  }
  throw fail('failed to find a unique veth name');
}
