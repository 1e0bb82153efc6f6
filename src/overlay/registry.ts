/**
 * The subnet registry: flannel's etcd layout and lease rules on top of an
 * injected EtcdClient. A host is known by its PublicIP: acquire() finds the
 * host's lease again by it and renews it, or takes a free subnet with a
 * transaction that creates the key only if it is absent, so two hosts racing
 * for the same subnet never both get it (the loser picks again). Keys
 * without an etcd lease are reservations: only the host they name uses them.
 */
import {cidrString, type Cidr} from '../util/ip.js';
import type {EtcdClient, KeyValue, Watch} from '../etcd/types.js';
import {mapLimit} from '../util/concurrency.js';
import {
  checkNetworkConfig,
  formatNetworkConfig,
  parseNetworkConfig,
  sameNetworkConfig,
  type NetworkConfig,
  type NetworkConfigInput,
} from './config.js';
import {configKey, parsePrefix, parseSubnetKeyName, subnetKey, subnetsPrefix} from './keys.js';
import {formatLeaseAttrs, parseLeaseAttrs, parseLeaseKv, parseMac, parsePublicIP, type SubnetLease} from './lease.js';
import {pickSubnet, subnetFits} from './subnets.js';
import {errorText} from '../util/error-text.js';

/** flannel's lease time. */
export const LEASE_TTL_SECONDS = 24 * 3600;
const RACE_ATTEMPTS = 10;

export interface RegistryOptions {
  prefix: string;
  ttlSeconds?: number;
  random?: () => number;
  now?: () => number;
  /** Told when another host created the chosen subnet's key first (acquire then picks again). */
  onLostRace?: (subnet: Cidr) => void;
}

export interface AcquireRequest {
  publicIP: string;
  vtepMac: string;
  /** A subnet this host held before (e.g. from its own state): taken again when still free. */
  preferred?: Cidr;
}

/** A key under subnets/ that is not a usable lease: skipped, but its subnet (if any) stays taken. */
export interface InvalidEntry {
  key: string;
  subnet?: Cidr;
  error: Error;
}

export interface LeaseList {
  leases: SubnetLease[];
  invalid: InvalidEntry[];
  revision: number;
}

export type LeaseChange =
  {type: 'added'; lease: SubnetLease} | {type: 'removed'; key: string; subnet: Cidr} | {type: 'invalid'; entry: InvalidEntry};

export interface LeaseWatchHandlers {
  onChange(changes: LeaseChange[], revision: number): void;
  /** Changes were lost (history compacted): list again. */
  onReset?(revision: number): void;
  onError?(err: Error): void;
}

export class SubnetRegistry {
  readonly prefix: string;
  private readonly ttl: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly onLostRace: (subnet: Cidr) => void;

  constructor(
    private readonly etcd: EtcdClient,
    opts: RegistryOptions,
  ) {
    this.prefix = parsePrefix(opts.prefix);
    this.ttl = opts.ttlSeconds ?? LEASE_TTL_SECONDS;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.onLostRace = opts.onLostRace ?? (() => undefined);
  }

  async getConfig(): Promise<NetworkConfig> {
    const key = configKey(this.prefix);
    const kv = await this.etcd.get(key);
    if (!kv)
      throw new Error(
        `no overlay network config at ${key} in etcd (${this.etcd.endpoints.join(', ')}): write one first with cni-docker overlay init`,
      );
    try {
      return parseNetworkConfig(kv.value);
    } catch (err) {
      throw new Error(`${key}: ${errorText(err)}`);
    }
  }

  /** Write the network config unless one is there; the same config again is not an error, a different one is. */
  async putConfig(input: NetworkConfigInput): Promise<{written: boolean; config: NetworkConfig}> {
    const text = formatNetworkConfig(input);
    const config = checkNetworkConfig(input);
    const key = configKey(this.prefix);
    const r = await this.etcd.createIfAbsent(key, text);
    if (r.created) return {written: true, config};
    let existing: NetworkConfig | undefined;
    try {
      existing = parseNetworkConfig(r.existing?.value ?? '');
    } catch {
      existing = undefined;
    }
    if (existing && sameNetworkConfig(existing, config)) return {written: false, config: existing};
    throw new Error(`${key} already holds a different network config (${r.existing?.value ?? '?'}); not overwritten`);
  }

  /** Every lease and reservation; with `expiry`, each lease's expiry is asked of etcd too. */
  async listLeases(opts: {expiry?: boolean} = {}): Promise<LeaseList> {
    const {kvs, revision} = await this.etcd.getPrefix(subnetsPrefix(this.prefix));
    const leases: SubnetLease[] = [];
    const invalid: InvalidEntry[] = [];
    for (const kv of kvs) {
      const l = parseLeaseKv(kv, this.prefix);
      if (l instanceof Error) invalid.push(this.invalidEntry(kv, l));
      else leases.push(l);
    }
    if (opts.expiry) {
      const ids = [...new Set(leases.filter((l) => !l.reservation).map((l) => l.etcdLease))];
      const ttls = new Map(await mapLimit(ids, 8, async (id) => [id, await this.etcd.leaseTimeToLive(id)] as const));
      const now = this.now();
      for (const l of leases) if (!l.reservation) l.expiresAt = new Date(now + (ttls.get(l.etcdLease) ?? 0) * 1000);
    }
    return {leases, invalid, revision};
  }

  /** This host's lease: found again by PublicIP and renewed, or a free subnet taken. */
  async acquire(req: AcquireRequest, config?: NetworkConfig): Promise<SubnetLease> {
    const cfg = config ?? (await this.getConfig());
    const publicIP = parsePublicIP(req.publicIP);
    if (!publicIP) throw new Error(`public IP ${JSON.stringify(req.publicIP)} is not a unicast IPv4 address`);
    const vtepMac = parseMac(req.vtepMac);
    if (!vtepMac) throw new Error(`VTEP MAC ${JSON.stringify(req.vtepMac)} is not a unicast MAC address`);
    const value = formatLeaseAttrs({publicIP, backendType: 'vxlan', vni: cfg.backend.vni, vtepMac});
    let granted: {id: string; ttl: number} | undefined;
    try {
      for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
        const list = await this.listLeases();
        const mine = list.leases.find((l) => l.attrs.publicIP === publicIP);
        if (mine && subnetFits(cfg, mine.subnet)) {
          const kept = await this.keep(mine, value);
          if (kept === 'retry') continue;
          if (kept) return kept;
        } else if (mine && !mine.reservation) {
          // Leased under another config (other size or range): give it up, as flannel does.
          await this.etcd.deleteIf(mine.key, mine.modRevision);
          continue;
        }
        const taken = [...list.leases.map((l) => l.subnet), ...list.invalid.flatMap((e) => (e.subnet ? [e.subnet] : []))];
        const subnet = pickSubnet(cfg, taken, this.random, req.preferred);
        if (!subnet) throw new Error(`no free /${cfg.subnetLen} subnet left in ${cidrString(cfg.network)} (${taken.length} taken)`);
        granted ??= await this.etcd.leaseGrant(this.ttl);
        const key = subnetKey(this.prefix, subnet);
        const r = await this.etcd.createIfAbsent(key, value, {lease: granted.id});
        if (!r.created) {
          this.onLostRace(subnet); // another host was quicker: look again
          continue;
        }
        const lease: SubnetLease = {
          subnet,
          key,
          attrs: parseLeaseAttrs(value),
          etcdLease: granted.id,
          reservation: false,
          modRevision: r.revision,
          expiresAt: new Date(this.now() + granted.ttl * 1000),
          created: true,
        };
        granted = undefined;
        return lease;
      }
      throw new Error(`no subnet after ${RACE_ATTEMPTS} attempts: other hosts kept taking the ones chosen`);
    } finally {
      if (granted) await this.etcd.leaseRevoke(granted.id).catch(() => {});
    }
  }

  /** Keep the lease going; when its etcd lease has run out, take the same subnet again if it is still free. */
  async renew(lease: SubnetLease): Promise<SubnetLease> {
    if (lease.reservation) return lease;
    const ttl = await this.etcd.leaseKeepAlive(lease.etcdLease);
    if (ttl > 0) return {...lease, expiresAt: new Date(this.now() + ttl * 1000)};
    const granted = await this.etcd.leaseGrant(this.ttl);
    const r = await this.etcd.createIfAbsent(lease.key, formatLeaseAttrs(lease.attrs), {lease: granted.id});
    if (r.created) return {...lease, etcdLease: granted.id, modRevision: r.revision, expiresAt: new Date(this.now() + granted.ttl * 1000)};
    await this.etcd.leaseRevoke(granted.id).catch(() => {});
    throw new Error(`the lease on ${cidrString(lease.subnet)} expired and the subnet has been taken since: acquire a new one`);
  }

  /** Give a lease up (its key goes with its etcd lease); a reservation stays. Only to undo an acquire that is not used after all. */
  async release(lease: SubnetLease): Promise<void> {
    if (!lease.reservation) await this.etcd.leaseRevoke(lease.etcdLease);
  }

  /** Changes to leases as they happen, from `fromRevision` (e.g. a listing's revision + 1) or from now. */
  watchLeases(handlers: LeaseWatchHandlers, fromRevision?: number): Watch {
    return this.etcd.watchPrefix(
      subnetsPrefix(this.prefix),
      {
        onEvents: (events, revision) => {
          const changes: LeaseChange[] = [];
          for (const e of events) {
            if (e.type === 'delete') {
              const subnet = parseSubnetKeyName(e.key.slice(subnetsPrefix(this.prefix).length));
              if (subnet) changes.push({type: 'removed', key: e.key, subnet});
              continue;
            }
            const l = parseLeaseKv(e.kv, this.prefix);
            changes.push(l instanceof Error ? {type: 'invalid', entry: this.invalidEntry(e.kv, l)} : {type: 'added', lease: l});
          }
          if (changes.length > 0) handlers.onChange(changes, revision);
        },
        onReset: handlers.onReset,
        onError: handlers.onError,
      },
      {fromRevision},
    );
  }

  /** Renew (and correct the value of) a lease found by PublicIP; 'retry' when it changed under us, undefined when it is gone. */
  private async keep(mine: SubnetLease, value: string): Promise<SubnetLease | 'retry' | undefined> {
    const current = formatLeaseAttrs(mine.attrs) === value;
    if (mine.reservation) {
      if (current) return mine;
      const r = await this.etcd.replaceIf(mine.key, value, mine.modRevision);
      return r.created ? {...mine, attrs: parseLeaseAttrs(value), modRevision: r.revision} : 'retry';
    }
    const ttl = await this.etcd.leaseKeepAlive(mine.etcdLease);
    if (ttl === 0) return undefined;
    const expiresAt = new Date(this.now() + ttl * 1000);
    if (current) return {...mine, expiresAt};
    const r = await this.etcd.replaceIf(mine.key, value, mine.modRevision, {lease: mine.etcdLease});
    return r.created ? {...mine, attrs: parseLeaseAttrs(value), modRevision: r.revision, expiresAt} : 'retry';
  }

  private invalidEntry(kv: KeyValue, error: Error): InvalidEntry {
    const subnet = parseSubnetKeyName(kv.key.slice(subnetsPrefix(this.prefix).length));
    return subnet ? {key: kv.key, subnet, error} : {key: kv.key, error};
  }
}
