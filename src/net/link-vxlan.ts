/**
 * The overlay's datapath, as flannel's vxlan backend programs it, in
 * idempotent operations over the injected Runner:
 * - one device `flannel.<VNI>`: vxlan, nolearning, the network's UDP port,
 *   local = this host's public IP on its uplink, address `<subnet>.0/32`;
 * - per peer host: a route to its subnet via its VTEP address `<subnet>.0`
 *   (onlink), a permanent neighbour entry giving that address the peer's
 *   VTEP MAC, and an FDB entry sending that MAC to the peer's public IP.
 * Reads use `ip -j` / `bridge -j`; writes go in one `ip -batch` and one
 * `bridge -batch` per call.
 */
import type {Runner} from '../exec/runner.js';
import {cidrString, ipString, isV4, networkOf, parseCidr, parseIP} from '../util/ip.js';
import {isNotFound} from './errors.js';
import {ipBatch, ipJsonBatch, type IpLine} from './iproute.js';
import {delLink, getLink, parseLinks, type LinkInfo} from './link.js';
import {parseLinkAddrs, type LinkAddrs} from './addr.js';
import {parseUnicastMac} from './mac.js';
import {fdbBatch, fdbDelLine, fdbReplaceLine, listFdb, type FdbEntry} from './fdb.js';
import {neighDelLine, neighReplaceLine, neighShowLine, parsePermanentNeigh, type NeighEntry} from './neigh.js';
import {parseRoutes, routeDelLine, routeReplaceOnlinkLine, routeShowDevLine} from './route.js';

export interface VxlanSpec {
  vni: number;
  /** UDP port (flannel's Backend.Port, 8472 by default). */
  port: number;
  /** This host's public IP: the tunnel's source address. */
  localIP: string;
  /** The link that carries the tunnel (the public IP's link). */
  uplink: string;
  mtu: number;
  /**
   * This host's subnet, e.g. 10.240.3.0/24: the device gets its network
   * address as /32. Absent before the lease is taken (the lease needs the
   * device's MAC first): addresses are then left as they are.
   */
  subnet?: string;
}

export interface VxlanDevice {
  name: string;
  mac: string;
  /** True when this call created (or re-created) the device: its MAC is new. */
  created: boolean;
}

export interface Peer {
  /** The peer's subnet, canonical, e.g. 10.240.4.0/24. */
  subnet: string;
  publicIP: string;
  vtepMac: string;
}

/** What is programmed on the device, as read back. */
export interface Programmed {
  routes: {subnet: string; gateway: string}[];
  neighbours: NeighEntry[];
  fdb: FdbEntry[];
}

export function vxlanName(vni: number): string {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new Error(`VNI ${vni} is not 0..16777215`);
  const name = `flannel.${vni}`;
  if (name.length > 15) throw new Error(`device name ${name} is longer than 15 characters`);
  return name;
}

function v4(text: string, what: string): string {
  const ip = parseIP(text);
  if (!ip || !isV4(ip)) throw new Error(`${what} ${JSON.stringify(text)} is not an IPv4 address`);
  return ipString(ip);
}

/** A canonical IPv4 subnet and its network address (the VTEP address), or a throw. */
function subnetOf(text: string): {subnet: string; vtep: string} {
  const c = parseCidr(text);
  if (!c || !isV4(c.ip) || c.mappedV4) throw new Error(`subnet ${JSON.stringify(text)} is not an IPv4 CIDR`);
  const net = {ip: networkOf(c), prefix: c.prefix};
  if (cidrString(net) !== text) throw new Error(`subnet ${text} is not canonical (${cidrString(net)})`);
  return {subnet: text, vtep: ipString(net.ip)};
}

function checkPeer(p: Peer): Peer & {vtep: string} {
  const {subnet, vtep} = subnetOf(p.subnet);
  const vtepMac = parseUnicastMac(p.vtepMac);
  if (!vtepMac) throw new Error(`peer ${p.subnet}: VTEP MAC ${JSON.stringify(p.vtepMac)} is not a unicast MAC address`);
  return {subnet, vtep, publicIP: v4(p.publicIP, `peer ${p.subnet}: public IP`), vtepMac};
}

function checkSpec(s: VxlanSpec): {name: string; vtep: string | undefined} {
  const name = vxlanName(s.vni);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`vxlan port ${s.port} is not 1..65535`);
  if (!Number.isInteger(s.mtu) || s.mtu < 68 || s.mtu > 65535) throw new Error(`vxlan MTU ${s.mtu} is not 68..65535`);
  if (typeof s.uplink !== 'string' || !/^[A-Za-z0-9_.@:-]{1,15}$/.test(s.uplink) || s.uplink === '.' || s.uplink === '..') {
    throw new Error(`uplink ${JSON.stringify(s.uplink)} is not an interface name`);
  }
  v4(s.localIP, 'local IP');
  return {name, vtep: s.subnet === undefined ? undefined : subnetOf(s.subnet).vtep};
}

/** Whether an existing device is the one the spec describes (else it is made again). */
function sameDevice(link: LinkInfo, s: VxlanSpec): boolean {
  const d = link.linkinfo?.info_data ?? {};
  return (
    link.linkinfo?.info_kind === 'vxlan' &&
    d.id === s.vni &&
    d.port === s.port &&
    d.local === ipString(parseIP(s.localIP)!) &&
    d.link === s.uplink &&
    d.learning === false
  );
}

/** Make `flannel.<VNI>` as the spec says, changing only what differs; its MAC is read from the device. */
export async function ensureVxlan(runner: Runner, spec: VxlanSpec): Promise<VxlanDevice> {
  const {name, vtep} = checkSpec(spec);
  const local = v4(spec.localIP, 'local IP');
  // `ip -d addr show` gives the link's details and its addresses in one
  // answer (in a batch, an `addr show` after a `link show` prints no addresses).
  const read = await ipJsonBatch(runner, [['addr', 'show', 'dev', name]], undefined, false);
  const link = parseLinkAddrs(read.outputs[0] ?? [])[0] as (LinkInfo & LinkAddrs) | undefined;
  const addrs = (link?.addr_info ?? []).filter((a) => a.family === 'inet');
  if (!link && read.run.exitCode !== 0 && !isNotFound(new Error(read.run.stderr)))
    throw new Error(`reading ${name}: ${read.run.stderr.trim()}`);
  const lines: string[][] = [];
  let created = false;
  if (link && !sameDevice(link, spec)) lines.push(['link', 'del', name]);
  if (!link || !sameDevice(link, spec)) {
    created = true;
    lines.push([
      'link',
      'add',
      name,
      'type',
      'vxlan',
      'id',
      String(spec.vni),
      'local',
      local,
      'dev',
      spec.uplink,
      'dstport',
      String(spec.port),
      'nolearning',
    ]);
  }
  if (created || link?.mtu !== spec.mtu) lines.push(['link', 'set', name, 'mtu', String(spec.mtu)]);
  if (vtep !== undefined) {
    const kept = created ? [] : addrs;
    for (const a of kept)
      if (!(a.local === vtep && a.prefixlen === 32)) lines.push(['addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', name]);
    if (!kept.some((a) => a.local === vtep && a.prefixlen === 32)) lines.push(['addr', 'add', `${vtep}/32`, 'dev', name]);
  }
  if (created || !link?.flags.includes('UP')) lines.push(['link', 'set', name, 'up']);
  if (lines.length === 0) return {name, mac: macOf(link, name), created};
  const out = await ipJsonBatch(runner, [...lines, ['link', 'show', 'dev', name]]);
  return {name, mac: macOf(parseLinks(out.outputs[out.outputs.length - 1] ?? [])[0], name), created};
}

function macOf(link: LinkInfo | undefined, name: string): string {
  const mac = link?.address ? parseUnicastMac(link.address) : undefined;
  if (!mac) throw new Error(`${name} has no usable MAC address (${link?.address ?? 'none read'})`);
  return mac;
}

/** The MTU of a link (the uplink's, from which flannel's default vxlan MTU is 50 less). */
export async function linkMtu(runner: Runner, name: string): Promise<number> {
  const mtu = (await getLink(runner, name))?.mtu;
  if (typeof mtu !== 'number') throw new Error(`no MTU read for ${name}`);
  return mtu;
}

/** The VTEP MAC of `flannel.<VNI>`, or undefined when the device does not exist. */
export async function readVtepMac(runner: Runner, vni: number): Promise<string | undefined> {
  const name = vxlanName(vni);
  const link = await getLink(runner, name);
  return link && macOf(link, name);
}

/** Remove `flannel.<VNI>` (and with it every route, neighbour and FDB entry on it); absent is fine. */
export async function delVxlan(runner: Runner, vni: number): Promise<void> {
  await delLink(runner, vxlanName(vni));
}

/** Routes, permanent neighbours and FDB entries on the device: two processes, run together. */
export async function readProgrammed(runner: Runner, vni: number): Promise<Programmed> {
  const name = vxlanName(vni);
  const [ipOut, fdb] = await Promise.all([ipJsonBatch(runner, [routeShowDevLine(name), neighShowLine(name)]), listFdb(runner, name)]);
  const routes = parseRoutes(ipOut.outputs[0] ?? []);
  return {
    routes: routes.filter((r) => r.gateway).map((r) => ({subnet: r.dst, gateway: r.gateway!})),
    neighbours: parsePermanentNeigh(ipOut.outputs[1] ?? []),
    fdb,
  };
}

/** The peers fully programmed (route, neighbour and FDB entry that agree). */
export function programmedPeers(p: Programmed): Peer[] {
  const peers: Peer[] = [];
  for (const r of p.routes) {
    const n = p.neighbours.find((x) => x.ip === r.gateway);
    const f = n && p.fdb.find((x) => x.mac === n.mac);
    if (n && f) peers.push({subnet: r.subnet, publicIP: f.dst, vtepMac: n.mac});
  }
  return peers;
}

export interface PeerPlan {
  ip: IpLine[];
  bridge: IpLine[];
}

/**
 * The writes that turn what is programmed into exactly `desired` (pure).
 * Entries of peers no longer wanted are removed; existing right entries are
 * left alone, so a sync with nothing to do writes nothing.
 */
export function planPeers(name: string, programmed: Programmed, desired: readonly Peer[]): PeerPlan {
  const want = desired.map(checkPeer);
  const plan: PeerPlan = {ip: [], bridge: []};
  const wantSubnets = new Set(want.map((p) => p.subnet));
  const wantVteps = new Set(want.map((p) => p.vtep));
  const wantMacs = new Map(want.map((p) => [p.vtepMac, p.publicIP]));
  for (const r of programmed.routes) if (!wantSubnets.has(r.subnet)) plan.ip.push(routeDelLine(r.subnet, name));
  for (const n of programmed.neighbours) if (!wantVteps.has(n.ip)) plan.ip.push(neighDelLine(n.ip, name));
  for (const f of programmed.fdb) if (!wantMacs.has(f.mac)) plan.bridge.push(fdbDelLine(f.mac, name));
  for (const p of want) {
    if (!programmed.fdb.some((f) => f.mac === p.vtepMac && f.dst === p.publicIP)) {
      plan.bridge.push(fdbReplaceLine(p.vtepMac, name, p.publicIP));
    }
    if (!programmed.neighbours.some((n) => n.ip === p.vtep && n.mac === p.vtepMac)) {
      plan.ip.push(neighReplaceLine(p.vtep, p.vtepMac, name));
    }
    if (!programmed.routes.some((r) => r.subnet === p.subnet && r.gateway === p.vtep)) {
      plan.ip.push(routeReplaceOnlinkLine(p.subnet, p.vtep, name));
    }
  }
  return plan;
}

/** Make the device's peers exactly `desired` (peer sync): one read, then at most one ip and one bridge batch. */
export async function syncPeers(runner: Runner, vni: number, desired: readonly Peer[]): Promise<PeerPlan> {
  const name = vxlanName(vni);
  const plan = planPeers(name, await readProgrammed(runner, vni), desired);
  await applyPlan(runner, plan);
  return plan;
}

/** Program one peer (replace: idempotent), without reading first. */
export async function addPeer(runner: Runner, vni: number, peer: Peer): Promise<void> {
  await applyPlan(runner, planPeers(vxlanName(vni), {routes: [], neighbours: [], fdb: []}, [peer]));
}

/** Remove one peer's entries where they are present. */
export async function removePeer(runner: Runner, vni: number, peer: Peer): Promise<void> {
  const p = checkPeer(peer);
  const name = vxlanName(vni);
  const now = await readProgrammed(runner, vni);
  const mine: Programmed = {
    routes: now.routes.filter((r) => r.subnet === p.subnet),
    neighbours: now.neighbours.filter((n) => n.ip === p.vtep),
    fdb: now.fdb.filter((f) => f.mac === p.vtepMac),
  };
  await applyPlan(runner, planPeers(name, mine, []));
}

async function applyPlan(runner: Runner, plan: PeerPlan): Promise<void> {
  await Promise.all([ipBatch(runner, plan.ip), fdbBatch(runner, plan.bridge)]);
}
