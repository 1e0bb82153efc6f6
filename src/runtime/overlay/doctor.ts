/**
 * `doctor` for overlay networks: one line per overlay network in the conf
 * dir, saying whether its etcd answers (and with which network config and
 * how many leases), or why not.
 */
import type {Deps} from '../../deps.js';
import {cidrString} from '../../util/ip.js';
import {withOverlay} from '../../overlay/connect.js';
import {overlayNetworksIn} from './network.js';
import {errorText} from '../../util/error-text.js';

/** One doctor line (./doctor.ts DoctorCheck), declared here so the two modules do not import each other. */
export interface OverlayCheck {
  check: 'overlay';
  status: 'ok' | 'fail';
  message: string;
  fix?: string;
}

export async function overlayChecks(deps: Deps): Promise<OverlayCheck[]> {
  const found = await overlayNetworksIn(deps.confDir);
  return Promise.all(
    found.map(async (f): Promise<OverlayCheck> => {
      if (!f.network) return {check: 'overlay', status: 'fail', message: `${f.file}: ${f.error}`, fix: `fix or remove ${f.file}`};
      const {list, conf} = f.network;
      try {
        return await withOverlay(conf, deps, async ({registry}) => {
          const cfg = await registry.getConfig();
          const {leases} = await registry.listLeases();
          return {
            check: 'overlay',
            status: 'ok',
            message: `network ${list.name}: etcd answers at ${conf.etcd.endpoints.join(', ')}; overlay ${cidrString(cfg.network)} (vxlan VNI ${cfg.backend.vni}), ${leases.length} lease(s)`,
          };
        });
      } catch (err) {
        return {
          check: 'overlay',
          status: 'fail',
          message: `network ${list.name}: ${errorText(err)}`,
          fix: `start etcd, or correct etcdEndpoints/etcdPrefix in ${f.file} (cni-docker overlay init writes the network config)`,
        };
      }
    }),
  );
}
