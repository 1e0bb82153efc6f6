/**
 * The `dhcp` IPAM config (reference §4.2): daemonSocketPath, request,
 * provide, priority; plus the client id and parameter list they produce.
 */
import {CniError, ErrorCode} from '../../cni/errors.js';
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
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new CniError(ErrorCode.InvalidNetworkConfig, `Can not parse option "${o}": Can not parse option: invalid syntax`);
  return n;
}

interface RawIpam {
  daemonSocketPath?: unknown;
  request?: {option?: string; skipDefault?: boolean}[];
  provide?: {option?: string; value?: string; fromArg?: string}[];
  priority?: unknown;
}

export function parseConf(args: CmdArgs): DhcpConf {
  let raw: {cniVersion?: string; name?: string; ipam?: RawIpam};
  try {
    raw = JSON.parse(args.stdin) as typeof raw;
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to load netconf: ${(err as Error).message}`);
  }
  const ipam = raw.ipam ?? {};
  const skipDefault = (ipam.request ?? []).some((r) => r.skipDefault);
  const params = new Set<number>(skipDefault ? [] : DEFAULT_PARAMS);
  for (const r of ipam.request ?? []) if (r.option) params.add(parseOptionName(r.option));
  const provide = new Map<number, Buffer>();
  const fromArgKeys = (ipam.provide ?? []).map((p) => p.fromArg).filter((k): k is string => Boolean(k));
  const cniArgs = fromArgKeys.length > 0 ? parseCniArgs(args.args ? `${args.args};IgnoreUnknown=1` : '', fromArgKeys) : {};
  for (const p of ipam.provide ?? []) {
    if (!p.option) continue;
    const code = parseOptionName(p.option);
    for (const v of [p.value, p.fromArg ? cniArgs[p.fromArg] : undefined]) {
      if (v === undefined || v === '') continue;
      if (Buffer.byteLength(v) > 255) throw new CniError(ErrorCode.InvalidNetworkConfig, `value too long for option "${p.option}": "${v}"`);
      provide.set(code, Buffer.from(v));
    }
  }
  return {
    cniVersion: raw.cniVersion ?? '1.1.0',
    name: raw.name ?? '',
    daemonSocketPath: typeof ipam.daemonSocketPath === 'string' && ipam.daemonSocketPath ? ipam.daemonSocketPath : undefined,
    paramList: [...params],
    provide,
    priority: typeof ipam.priority === 'number' ? ipam.priority : 0,
  };
}

/** `<containerID>/<network name>/<ifname>`: client id and lease key. */
export function clientKey(containerId: string, network: string, ifname: string): string {
  return `${containerId}/${network}/${ifname}`;
}
