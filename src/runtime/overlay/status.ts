/**
 * `overlay status`: every lease of an overlay network as etcd holds it, with
 * when each runs out, and which one is this host's (by its public IP, as the
 * registry itself finds it).
 */
import type {Deps} from '../../deps.js';
import {cidrString, ipString} from '../../util/ip.js';
import {withOverlay} from '../../overlay/connect.js';
import {findUplink} from '../../overlay/uplink.js';
import type {OverlayNetwork} from './network.js';
import {errorText} from '../../util/error-text.js';

export interface LeaseRow {
  subnet: string;
  publicIP: string;
  vtepMac?: string;
  /** ISO time the etcd lease runs out; absent for a reservation. */
  expiresAt?: string;
  reservation: boolean;
  /** This host's lease. */
  mine: boolean;
}

export interface OverlayStatus {
  network: string;
  prefix: string;
  endpoints: string[];
  overlay: {network: string; subnetLen: number; subnetMin: string; subnetMax: string; vni: number; port: number};
  /** This host's public IP; absent when it cannot be told (then no lease is marked). */
  publicIP?: string;
  note?: string;
  leases: LeaseRow[];
  /** Keys under subnets/ that are not usable leases, with why. */
  invalid: {key: string; error: string}[];
}

export async function overlayStatus(deps: Deps, net: OverlayNetwork): Promise<OverlayStatus> {
  const up = await findUplink(deps.runner, net.conf).then(
    (u) => ({publicIP: u.publicIP}),
    (err: unknown) => ({note: `this host's public IP is unknown: ${errorText(err)}`}),
  );
  return withOverlay(net.conf, deps, async ({registry}) => {
    const cfg = await registry.getConfig();
    const {leases, invalid} = await registry.listLeases({expiry: true});
    const publicIP = 'publicIP' in up ? up.publicIP : undefined;
    return {
      network: net.list.name,
      prefix: registry.prefix,
      endpoints: [...net.conf.etcd.endpoints],
      overlay: {
        network: cidrString(cfg.network),
        subnetLen: cfg.subnetLen,
        subnetMin: ipString(cfg.subnetMin),
        subnetMax: ipString(cfg.subnetMax),
        vni: cfg.backend.vni,
        port: cfg.backend.port,
      },
      ...up,
      leases: leases.map((l) => ({
        subnet: cidrString(l.subnet),
        publicIP: l.attrs.publicIP,
        vtepMac: l.attrs.vtepMac,
        expiresAt: l.expiresAt?.toISOString(),
        reservation: l.reservation,
        mine: publicIP !== undefined && l.attrs.publicIP === publicIP,
      })),
      invalid: invalid.map((e) => ({key: e.key, error: e.error.message})),
    };
  });
}
