import type {Result} from '../cni/types.js';
import type {PortMapping} from './port-mapping.js';

/** One attachment: the typed result of attach/list, and the --json payload. */
export interface Attachment {
  container: string;
  containerId: string;
  kind: 'container' | 'netns';
  network: string;
  type: string;
  ifname: string;
  netns: string;
  addresses: string[];
  gateways: string[];
  mac?: string;
  /** Published ports (the portMappings the plugins were given), when any. */
  ports?: PortMapping[];
  /** true when attach found it already attached and allocated nothing. */
  existing?: boolean;
  note?: string;
}

/** Addresses, gateways and container MAC from a result of any version. */
export function summarize(result: Result, ifname: string, netns: string): {addresses: string[]; gateways: string[]; mac?: string} {
  const addresses = (result.ips ?? []).map((ip) => ip.address);
  const gateways = [...new Set((result.ips ?? []).map((ip) => ip.gateway).filter((g): g is string => Boolean(g)))];
  const iface = (result.interfaces ?? []).find((i) => i.name === ifname && (!i.sandbox || i.sandbox === netns));
  return {addresses, gateways, mac: iface?.mac};
}
