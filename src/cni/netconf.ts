import {goAny, goBool, goMap, goSlice, goString, goStruct} from './go-json.js';

/**
 * The spec's types.NetConf as libcni declares it, for the Go-JSON reader: the
 * fields every plugin config has. A plugin's own NetConf embeds it, so its
 * fields come first (`{...netConfFields, master: goString}`), and a type error
 * in any of them is reported as the reference reports it.
 */
export const ipamType = goStruct('types.IPAM', {type: goString});

export const dnsType = goStruct('types.DNS', {
  nameservers: goSlice(goString),
  domain: goString,
  search: goSlice(goString),
  options: goSlice(goString),
});

export const netConfFields = {
  cniVersion: goString,
  name: goString,
  type: goString,
  capabilities: goMap(goBool),
  ipam: ipamType,
  dns: dnsType,
  /** RawPrevResult: map[string]interface{}. */
  prevResult: goMap(goAny),
};
