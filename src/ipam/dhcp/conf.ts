/**
 * The `dhcp` IPAM config (reference §4.2): daemonSocketPath, request,
 * provide, priority; plus the client id and parameter list they produce.
 */
import {CniError, ErrorCode} from '../../cni/errors.js';
import {decodeGoJson, goAny, goBool, goPtr, goSlice, goString, goStringType, goStruct, type GoValue} from '../../cni/go-json.js';
import {ipamType, netConfFields} from '../../cni/netconf.js';
import {parseCniArgs} from '../../cni/args.js';
import type {CmdArgs} from '../../cni/types.js';
import {Opt} from './packet.js';

export interface DhcpConf {
  cniVersion: string;
  name: string;
  daemonSocketPath?: string;
  paramList: number[];
  provide: Map<number, Buffer>;
  priority: number;
}

const OPTION_NAMES: Record<string, number> = {
  'dhcp-client-identifier': Opt.ClientId,
  'subnet-mask': Opt.SubnetMask,
  routers: Opt.Router,
  'host-name': Opt.HostName,
  'user-class': Opt.UserClass,
  'vendor-class-identifier': Opt.VendorClass,
};

/** What we always ask for unless skipDefault: the reference's {3, 1} plus what the result maps. */
export const DEFAULT_PARAMS = [Opt.SubnetMask, Opt.Router, Opt.DNS, Opt.DomainName, Opt.StaticRoutes, Opt.ClasslessRoutes];

export function parseOptionName(o: string): number {
  if (Object.prototype.hasOwnProperty.call(OPTION_NAMES, o)) return OPTION_NAMES[o];
  const n = /^\d+$/.test(o) ? Number(o) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 255)
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Can not parse option "${o}": Can not parse option: invalid syntax`);
  return n;
}

/** The reference's NetConf and IPAMConfig, for the Go-JSON reader (`priority`, ours, is read as any JSON). */
const dhcpOption = goStringType('main.DHCPOption');
const ipamConfigType = goStruct('main.IPAMConfig', {
  ...ipamType.fields,
  daemonSocketPath: goString,
  provide: goSlice(goStruct('main.ProvideOption', {option: dhcpOption, value: goString, fromArg: goString})),
  request: goSlice(goStruct('main.RequestOption', {skipDefault: goBool, option: dhcpOption})),
  priority: goAny,
});
const netConfType = goStruct('main.NetConf', {...netConfFields, ipam: goPtr(ipamConfigType)});

export function parseConf(args: CmdArgs): DhcpConf {
  let conf: GoValue<typeof netConfType>;
  try {
    conf = decodeGoJson(args.stdin, netConfType, {...netConfType.zero(), cniVersion: '1.1.0'});
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to load netconf: ${(err as Error).message}`);
  }
  const ipam = conf.ipam ?? ipamConfigType.zero();
  const skipDefault = ipam.request.some((r) => r.skipDefault);
  const params = new Set<number>(skipDefault ? [] : DEFAULT_PARAMS);
  for (const r of ipam.request) if (r.option) params.add(parseOptionName(r.option));
  const provide = new Map<number, Buffer>();
  const fromArgKeys = ipam.provide.map((p) => p.fromArg).filter((k) => k !== '');
  const cniArgs = fromArgKeys.length > 0 ? parseCniArgs(args.args ? `${args.args};IgnoreUnknown=1` : '', fromArgKeys) : {};
  for (const p of ipam.provide) {
    if (!p.option) continue;
    const code = parseOptionName(p.option);
    for (const v of [p.value, p.fromArg ? cniArgs[p.fromArg] : undefined]) {
      if (v === undefined || v === '') continue;
      if (Buffer.byteLength(v) > 255) throw new CniError(ErrorCode.InvalidNetworkConfig, `value too long for option "${p.option}": "${v}"`);
      provide.set(code, Buffer.from(v));
    }
  }
  return {
    cniVersion: conf.cniVersion,
    name: conf.name,
    daemonSocketPath: ipam.daemonSocketPath || undefined,
    paramList: [...params],
    provide,
    priority: typeof ipam.priority === 'number' ? ipam.priority : 0,
  };
}

/** `<containerID>/<network name>/<ifname>`: client id and lease key. */
export function clientKey(containerId: string, network: string, ifname: string): string {
  return `${containerId}/${network}/${ifname}`;
}
