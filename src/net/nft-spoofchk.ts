import type {Runner} from '../exec/runner.js';
import {checkNftName, nftApply, nftList, nftString} from './nft.js';
import {errorText} from '../util/error-text.js';

/**
 * The bridge's `macspoofchk` (reference pkg/link/spoofcheck.go): frames that
 * enter the bridge from the host veth must carry the container's MAC.
 *
 *   table bridge nat
 *     chain PREROUTING  (filter, hook prerouting, priority -300, policy accept)
 *       iifname "<hostveth>" jump cni-br-iface-<cid>-<if>     comment "macspoofchk-<cid>-<if>"
 *     chain cni-br-iface-<cid>-<if>
 *       jump cni-br-iface-<cid>-<if>-mac                      comment ...
 *     chain cni-br-iface-<cid>-<if>-mac
 *       ether saddr <mac> return                              comment ...
 *       drop                                                  comment ...
 *
 * Setup is one `nft -f -` transaction (declare, flush our two chains, add the
 * rules). Teardown reads the table once and deletes, in one transaction, the
 * PREROUTING rules with our comment and whichever of our chains exist; the
 * table and PREROUTING stay, as with the reference.
 */

const TABLE = 'bridge nat';
const BASE = 'PREROUTING';

export interface SpoofNames {
  ifaceChain: string;
  macChain: string;
  comment: string;
}

/** Chain names and comment for one attachment (refID = `<containerID>-<ifname>`). */
export function spoofNames(containerId: string, ifname: string): SpoofNames {
  checkNftName('container ID', containerId);
  checkNftName('interface name', ifname);
  const ref = `${containerId}-${ifname}`;
  return {ifaceChain: `cni-br-iface-${ref}`, macChain: `cni-br-iface-${ref}-mac`, comment: `macspoofchk-${ref}`};
}

export interface SpoofSpec {
  /** Host-side veth (the bridge port). */
  hostIface: string;
  /** The container interface's MAC. */
  mac: string;
  containerId: string;
  ifname: string;
}

/** The setup script, one line per nft command. */
export function spoofSetupScript(s: SpoofSpec): string[] {
  const n = spoofNames(s.containerId, s.ifname);
  checkNftName('host interface', s.hostIface);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s.mac)) throw new Error(`invalid MAC address ${JSON.stringify(s.mac)}`);
  const c = `comment ${nftString(n.comment)}`;
  return [
    `add table ${TABLE}`,
    `add chain ${TABLE} ${BASE} { type filter hook prerouting priority -300 ; policy accept ; }`,
    `add chain ${TABLE} ${n.ifaceChain}`,
    `add chain ${TABLE} ${n.macChain}`,
    `flush chain ${TABLE} ${n.ifaceChain}`,
    `flush chain ${TABLE} ${n.macChain}`,
    `add rule ${TABLE} ${BASE} iifname ${nftString(s.hostIface)} jump ${n.ifaceChain} ${c}`,
    `add rule ${TABLE} ${n.ifaceChain} jump ${n.macChain} ${c}`,
    `add rule ${TABLE} ${n.macChain} ether saddr ${s.mac.toLowerCase()} return ${c}`,
    `add rule ${TABLE} ${n.macChain} drop ${c}`,
  ];
}

export async function setupSpoofCheck(runner: Runner, s: SpoofSpec): Promise<void> {
  const script = spoofSetupScript(s);
  try {
    await nftApply(runner, script);
  } catch (err) {
    throw new Error(`failed to setup spoof-check: ${errorText(err)}`);
  }
}

/**
 * Remove this attachment's PREROUTING rules and chains (nothing else).
 * An absent table, rule or chain is success.
 */
export async function teardownSpoofCheck(runner: Runner, containerId: string, ifname: string): Promise<void> {
  const n = spoofNames(containerId, ifname);
  const t = await nftList(runner, ['table', ...TABLE.split(' ')]);
  if (!t) return;
  const script = [
    ...t.rules
      .filter((r) => r.chain === BASE && r.comment === n.comment && Number.isInteger(r.handle))
      .map((r) => `delete rule ${TABLE} ${BASE} handle ${r.handle}`),
    ...[n.ifaceChain, n.macChain].filter((ch) => t.chains.has(ch)).map((ch) => `delete chain ${TABLE} ${ch}`),
  ];
  if (script.length === 0) return;
  try {
    await nftApply(runner, script);
  } catch (err) {
    throw new Error(`failed to teardown spoof-check: ${errorText(err)}`);
  }
}
