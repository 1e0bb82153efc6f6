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
import {decodeGo, goAny, goBool, goInt, goPtr, goSlice, goString, goStruct, type GoValue} from '../cni/go-json.js';
import {parseJsonNode} from '../cni/json.js';
import {netConfFields} from '../cni/netconf.js';
import {errorText} from '../util/error-text.js';
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
  /** The runtime's prevResult (DEL, CHECK), as the Go-JSON reader found it. */
  prevResult?: Record<string, unknown>;
  /** The whole config as plain data. */
  raw: Record<string, unknown>;
}

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, `overlay network config: ${msg}`);

/** The overlay's NetConf (types.NetConf embedded, as flannel's plugin declares it), for the Go-JSON reader. */
const netConfType = goStruct('main.NetConf', {
  ...netConfFields,
  etcdEndpoints: goSlice(goString),
  etcdPrefix: goString,
  etcdCAFile: goString,
  etcdCertFile: goString,
  etcdKeyFile: goString,
  etcdUsername: goPtr(goString),
  etcdPassword: goPtr(goString),
  bridge: goString,
  ipMasq: goBool,
  hairpinMode: goBool,
  iface: goString,
  publicIP: goString,
  mtu: goInt,
});

const optional = (v: string): string | undefined => (v === '' ? undefined : v);

/**
 * The fields with Go's encoding/json semantics (a type mismatch is the
 * reference's "failed to load netconf"), and the document as plain data.
 */
function readFields(stdin: string): {n: GoValue<typeof netConfType>; raw: Record<string, unknown>} {
  try {
    const node = parseJsonNode(stdin);
    const n = decodeGo(node, netConfType, {...netConfType.zero(), etcdPrefix: DEFAULT_PREFIX, bridge: 'cni0'});
    // What passes through to the delegate unread (dns) is taken from the document as written.
    const raw = node.kind === 'object' ? (decodeGo(node, goAny) as Record<string, unknown>) : {};
    return {n, raw};
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `failed to load netconf: ${errorText(err)}`);
  }
}

/** Parse and check an overlay config (as the plugin receives it on stdin). */
export function parseOverlayConf(stdin: string): OverlayNetConf {
  const {n, raw} = readFields(stdin);
  validateNetworkName(n.name);
  if (n.etcdEndpoints.length === 0) throw invalid('etcdEndpoints is missing: name at least one etcd client URL');
  const tls = {caFile: optional(n.etcdCAFile), certFile: optional(n.etcdCertFile), keyFile: optional(n.etcdKeyFile)};
  const etcd: EtcdOptions = {endpoints: n.etcdEndpoints, tls, username: n.etcdUsername, password: n.etcdPassword};
  try {
    resolveOptions(etcd);
  } catch (err) {
    throw invalid(errorText(err));
  }
  let prefix: string;
  try {
    prefix = parsePrefix(n.etcdPrefix);
  } catch (err) {
    throw invalid(`etcdPrefix: ${errorText(err)}`);
  }
  const iface = optional(n.iface);
  for (const [key, name] of [
    ['bridge', n.bridge],
    ['iface', iface],
  ] as const) {
    const bad = name === undefined ? undefined : linkNameProblem(name);
    if (bad) throw invalid(`${key} ${JSON.stringify(name)}: ${bad}`);
  }
  let publicIP: string | undefined;
  if (n.publicIP !== '') {
    publicIP = parsePublicIP(n.publicIP);
    if (!publicIP) throw invalid(`publicIP ${JSON.stringify(n.publicIP)} is not a unicast IPv4 address`);
  }
  if (n.mtu !== 0 && (n.mtu < 68 || n.mtu > 65535)) throw invalid(`mtu ${n.mtu} is not 68..65535`);
  return {
    cniVersion: n.cniVersion,
    name: n.name,
    etcd,
    prefix,
    bridge: n.bridge,
    ipMasq: n.ipMasq,
    hairpinMode: n.hairpinMode,
    iface,
    publicIP,
    mtu: n.mtu || undefined,
    prevResult: n.prevResult,
    raw,
  };
}
