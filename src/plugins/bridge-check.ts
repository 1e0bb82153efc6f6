import type {PluginContext} from '../exec/plugin.js';
import type {CmdArgs, CniInterface, IPConfig, Result, Route} from '../cni/types.js';
import {CniError, ErrorCode} from '../cni/errors.js';
import {familyOf, networkString, normalizeIp, parseCidrAsWritten} from '../util/ip.js';
import {listAddrs} from '../net/addr.js';
import {listLinks, type LinkInfo} from '../net/link.js';
import {listRoutes} from '../net/route.js';
import {isNetnsMissing} from '../net/errors.js';

/** The bridge's CHECK (reference cmdCheck, 1.1.1) and its prevResult parsing. */
const fail = (msg: string): CniError => new CniError(ErrorCode.Internal, msg);

/** What CHECK reads of the bridge's config (a BridgeConf is one). */
export interface CheckedConf {
  cniVersion: string;
  bridge: string;
  promiscMode: boolean;
  prevResult?: Record<string, unknown>;
}

const family040 = ['0.3.0', '0.3.1', '0.4.0'];
const family100 = ['1.0.0', '1.1.0'];

/** prevResult in the config's version family, as the internal model; undefined when absent. */
export function prevResultOf(c: Pick<CheckedConf, 'cniVersion' | 'prevResult'>): Result | undefined {
  const raw = c.prevResult;
  if (!raw) return undefined;
  const ver = typeof raw.cniVersion === 'string' ? raw.cniVersion : '';
  const supported = family100.includes(c.cniVersion) ? family100 : family040.includes(c.cniVersion) ? family040 : [c.cniVersion];
  if (!supported.includes(ver)) {
    throw fail(`could not parse prevResult: result type supports [${supported.join(' ')}] but unmarshalled CNIVersion is "${ver}"`);
  }
  const ips = ((raw.ips as IPConfig[] | undefined) ?? []).map((i) => ({interface: i.interface, address: i.address, gateway: i.gateway}));
  return {
    cniVersion: ver,
    interfaces: (raw.interfaces as CniInterface[] | undefined) ?? [],
    ips,
    routes: (raw.routes as Route[] | undefined) ?? [],
  };
}

function findLink(links: LinkInfo[], name: string): LinkInfo | undefined {
  return links.find((l) => l.ifname === name);
}

export async function checkAttachment(ctx: PluginContext, args: CmdArgs, c: CheckedConf, ipamCheck: () => Promise<void>): Promise<void> {
  const {runner} = ctx;
  let contLinks: LinkInfo[];
  try {
    contLinks = await listLinks(runner, args.netns);
  } catch (err) {
    if (isNetnsMissing(err))
      throw fail(`failed to open netns "${args.netns}": failed to Statfs "${args.netns}": no such file or directory`);
    throw err;
  }
  await ipamCheck();
  const prev = prevResultOf(c);
  if (!prev) throw fail('Required prevResult missing');

  const ifaces = prev.interfaces ?? [];
  const brMap = ifaces.find((i) => i.name === c.bridge) ?? {name: ''};
  const contMap = ifaces.find((i) => i.name === args.ifname && i.sandbox === args.netns) ?? {name: ''};
  const hostLinks = await listLinks(runner);

  // The bridge.
  if (!brMap.name) throw fail('Interface name missing ');
  const br = findLink(hostLinks, brMap.name);
  if (!br) throw fail(`Interface name ${brMap.name} not found`);
  if (brMap.sandbox) throw fail(`Interface ${brMap.name} should not be in sandbox`);
  if (br.linkinfo?.info_kind !== 'bridge') throw fail(`Interface ${brMap.name} does not have link type of bridge`);
  if (brMap.mac && brMap.mac !== br.address) throw fail(`Bridge interface ${brMap.name} Mac doesn't match: ${brMap.mac}`);
  const promisc = (br.flags ?? []).includes('PROMISC');
  if (promisc !== c.promiscMode) {
    throw fail(`Bridge interface ${brMap.name} configured Promisc Mode ${c.promiscMode} doesn't match current state: ${promisc} `);
  }
  if (args.netns !== contMap.sandbox)
    throw fail(`Sandbox in prevResult ${contMap.sandbox ?? ''} doesn't match configured netns: ${args.netns}`);

  // The container end.
  if (!contMap.name) throw fail('Interface name missing ');
  const cont = findLink(contLinks, contMap.name);
  if (!cont) throw fail(`Interface name ${contMap.name} not found`);
  if (cont.linkinfo?.info_kind !== 'veth') throw fail(`Error: Container interface ${contMap.name} not of type veth`);
  if (contMap.mac && contMap.mac !== cont.address)
    throw fail(`Interface ${contMap.name} Mac ${contMap.mac} doesn't match container Mac: ${cont.address}`);

  // The host end: a veth whose peer is the container end and whose master is the bridge.
  let vethFound = false;
  for (const intf of ifaces) {
    if (intf.name === brMap.name || intf.name === contMap.name) continue;
    if (!intf.name) throw fail('Interface name missing ');
    const l = findLink(hostLinks, intf.name);
    if (!l) throw fail(`Interface name ${intf.name} not found`);
    if (intf.sandbox) throw fail(`Interface ${intf.name} should not be in sandbox`);
    if (l.linkinfo?.info_kind !== 'veth') continue;
    if (l.ifindex !== cont.link_index || l.link_index !== cont.ifindex || l.master !== br.ifname) continue;
    if (intf.mac && intf.mac !== l.address) throw fail(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
    vethFound = true;
    break;
  }
  if (!vethFound) throw fail(`CNI veth created for bridge ${c.bridge} was not found`);

  // Addresses and routes.
  const addrs = (await listAddrs(runner, args.netns, args.ifname))[0]?.addr_info ?? [];
  const routes = {4: await listRoutes(runner, 4, args.netns), 6: await listRoutes(runner, 6, args.netns)};
  const dstOf = (dst: string, f: 4 | 6): string =>
    dst === 'default' ? (f === 4 ? '0.0.0.0/0' : '::/0') : dst.includes('/') ? dst : `${dst}/${f === 4 ? 32 : 128}`;
  for (const ipc of prev.ips ?? []) {
    const a = parseCidrAsWritten(ipc.address);
    if (!a) throw fail(`invalid address ${ipc.address}`);
    const ok = addrs.some((x) => normalizeIp(x.local) === normalizeIp(ipc.address.split('/')[0]) && x.prefixlen === a.prefix);
    if (!ok) throw fail(`Failed to match addr ${ipc.address} on interface ${args.ifname}`);
    const f = familyOf(a.ip);
    const net = networkString(a);
    if (!routes[f].some((r) => dstOf(r.dst, f) === net))
      throw fail(`Failed to find Gateway ${ipc.gateway ?? '<nil>'} for interface ${args.ifname}`);
  }
  for (const r of prev.routes ?? []) {
    const d = parseCidrAsWritten(r.dst);
    if (!d) throw fail(`Invalid static route found ${r.dst}`);
    const f = familyOf(d.ip);
    const want = networkString(d);
    const isDefault = d.prefix === 0;
    const found = routes[f].some((x) => {
      const xd = parseCidrAsWritten(dstOf(x.dst, f));
      if (!xd || networkString(xd) !== want) return false;
      return isDefault || !r.gw || (x.gateway !== undefined && normalizeIp(x.gateway) === normalizeIp(r.gw));
    });
    if (!found) throw fail(`Expected Route {Dst:${r.dst} GW:${r.gw ?? '<nil>'}} not found in routing table`);
  }
}
