/**
 * The CNI config of the `overlay` plugin type:
 *   {"cniVersion":"1.0.0","name":"mesh","type":"overlay",
 *    "etcdEndpoints":["http://10.0.0.1:2379"],"etcdPrefix":"/coreos.com/network",
 *    "bridge":"mesh0","ipMasq":true}
 * Optional: iface, publicIP, mtu, hairpinMode, etcdCAFile, etcdCertFile,
 * etcdKeyFile, etcdUsername, etcdPassword. Every value that later becomes an
 * etcd key, a URL, a link name or an ip argument is checked here, before
 * anything touches the host or the network.
 */
import {CniError, ErrorCode} from '../cni/errors.js';
import {linkNameProblem, validateNetworkName} from '../cni/validate.js';
import {resolveOptions, type EtcdOptions} from '../etcd/options.js';
import {readConfObject, type ConfReader} from '../plugins/go-json.js';
import {DEFAULT_PREFIX, parsePrefix} from './keys.js';
import {parsePublicIP} from './lease.js';

export interface OverlayNetConf {
  cniVersion: string;
  name: string;
  /** Validated client options (endpoints, TLS files, user and password). */
  etcd: EtcdOptions;
  prefix: string;
  bridge: string;
  ipMasq: boolean;
  hairpinMode: boolean;
  /** The link whose address is this host's public IP (default: the default route's). */
  iface?: string;
  publicIP?: string;
  /** The overlay's MTU (vxlan device, bridge, containers); absent: the uplink's less 50. */
  mtu?: number;
  raw: Record<string, unknown>;
}

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, `overlay network config: ${msg}`);

function strings(r: ConfReader, key: string): string[] {
  const list = r.list(key);
  for (const v of list) if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field NetConf.${key} of type string`);
  return list as string[];
}

function optional(r: ConfReader, key: string): string | undefined {
  const v = r.str(key, '');
  return v === '' ? undefined : v;
}

interface Fields {
  cniVersion: string;
  name: string;
  endpoints: string[];
  prefix: string;
  tls: {caFile?: string; certFile?: string; keyFile?: string};
  username?: string;
  password?: string;
  bridge: string;
  ipMasq: boolean;
  hairpinMode: boolean;
  iface?: string;
  publicIP?: string;
  mtu: number;
  raw: Record<string, unknown>;
}

/** The fields with Go's encoding/json semantics (a type mismatch is the reference's "failed to load netconf"). */
function readFields(stdin: string): Fields {
  try {
    const r = readConfObject(stdin, 'NetConf');
    return {
      cniVersion: r.str('cniVersion', ''),
      name: r.str('name', ''),
      endpoints: strings(r, 'etcdEndpoints'),
      prefix: r.str('etcdPrefix', DEFAULT_PREFIX),
      tls: {caFile: optional(r, 'etcdCAFile'), certFile: optional(r, 'etcdCertFile'), keyFile: optional(r, 'etcdKeyFile')},
      username: r.has('etcdUsername') ? r.str('etcdUsername', '') : undefined,
      password: r.has('etcdPassword') ? r.str('etcdPassword', '') : undefined,
      bridge: r.str('bridge', 'cni0'),
      ipMasq: r.bool('ipMasq'),
      hairpinMode: r.bool('hairpinMode'),
      iface: optional(r, 'iface'),
      publicIP: optional(r, 'publicIP'),
      mtu: r.int('mtu'),
      raw: r.raw,
    };
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `failed to load netconf: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parse and check an overlay config (as the plugin receives it on stdin). */
export function parseOverlayConf(stdin: string): OverlayNetConf {
  const f = readFields(stdin);
  validateNetworkName(f.name);
  if (f.endpoints.length === 0) throw invalid('etcdEndpoints is missing: name at least one etcd client URL');
  const etcd: EtcdOptions = {endpoints: f.endpoints, tls: f.tls, username: f.username, password: f.password};
  try {
    resolveOptions(etcd);
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : String(err));
  }
  let prefix: string;
  try {
    prefix = parsePrefix(f.prefix);
  } catch (err) {
    throw invalid(`etcdPrefix: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const [key, name] of [['bridge', f.bridge], ['iface', f.iface]] as const) {
    const bad = name === undefined ? undefined : linkNameProblem(name);
    if (bad) throw invalid(`${key} ${JSON.stringify(name)}: ${bad}`);
  }
  let publicIP: string | undefined;
  if (f.publicIP !== undefined) {
    publicIP = parsePublicIP(f.publicIP);
    if (!publicIP) throw invalid(`publicIP ${JSON.stringify(f.publicIP)} is not a unicast IPv4 address`);
  }
  if (f.mtu !== 0 && (f.mtu < 68 || f.mtu > 65535)) throw invalid(`mtu ${f.mtu} is not 68..65535`);
  return {
    cniVersion: f.cniVersion,
    name: f.name,
    etcd,
    prefix,
    bridge: f.bridge,
    ipMasq: f.ipMasq,
    hairpinMode: f.hairpinMode,
    iface: f.iface,
    publicIP,
    mtu: f.mtu || undefined,
    raw: f.raw,
  };
}
