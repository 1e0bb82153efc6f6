/**
 * The daemon's lease table: allocate (DORA in the container's namespace),
 * maintain (renew at T1, rebind at T2, at expiry set the interface down and
 * drop the lease), release, persist.
 * Operations on one client id are serialised.
 */
import type {CmdArgs, Result} from '../../cni/types.js';
import type {Logger} from '../../util/logger.js';
import {acquire, realClock, release, renew, type Clock, type ClientOptions, type Transport} from './client.js';
import {clientKey, parseConf, type DhcpConf} from './conf.js';
import {deadlines, leaseResult, leaseTimers, nextWake, leasePhase, optionsToRecord, recordToOptions, type Lease} from './lease.js';
import {Opt, optIp} from './packet.js';
import type {LeaseFile, LeaseStore} from './store.js';
import {validAttachments} from '../../cni/gc-args.js';

export type OpenTransport = (netns: string, ifname: string) => Promise<Transport>;

export interface ManagerOptions {
  store: LeaseStore;
  openTransport: OpenTransport;
  log: Logger;
  clock?: Clock;
  /** Budget for acquiring a lease (ms). */
  acquireBudgetMs?: number;
  /** Budget for one renew/rebind attempt (ms). */
  renewBudgetMs?: number;
  /** Retry interval after a failed renewal (ms). */
  renewRetryMs?: number;
  /** Load without maintaining (a one-shot release outside the daemon). */
  passive?: boolean;
  /** Set the interface down in its namespace: done when a lease expires unrenewed, as the reference does. */
  setLinkDown?: (netns: string, ifname: string) => Promise<void>;
}

export class LeaseManager {
  private data: LeaseFile = {version: 1, leases: {}, remembered: {}};
  private timers = new Map<string, NodeJS.Timeout>();
  private locks = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly o: ManagerOptions) {
    this.clock = o.clock ?? realClock;
  }

  /** Load the persisted table and resume maintenance of every lease. */
  async start(): Promise<void> {
    this.data = await this.o.store.load();
    if (this.o.passive) this.stopped = true;
    for (const l of Object.values(this.data.leases)) {
      this.o.log.debug(`${l.key}: resuming lease ${l.address} (${leasePhase(l, this.clock.now())})`);
      this.schedule(l);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  leases(): Lease[] {
    return Object.values(this.data.leases);
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  private clientOptions(key: string, conf: Pick<DhcpConf, 'paramList' | 'provide'>, budgetMs: number): ClientOptions {
    return {clientId: key, paramList: conf.paramList, provide: conf.provide, budgetMs, clock: this.clock};
  }

  private async withTransport<T>(netns: string, ifname: string, fn: (t: Transport) => Promise<T>): Promise<T> {
    const t = await this.o.openTransport(netns, ifname);
    try {
      return await fn(t);
    } finally {
      await t.close();
    }
  }

  async allocate(args: CmdArgs): Promise<Result> {
    const conf = parseConf(args);
    const key = clientKey(args.containerId, conf.name, args.ifname);
    return this.serial(key, async () => {
      const held = this.data.leases[key];
      if (held && held.netns === args.netns && leasePhase(held, this.clock.now()) !== 'expired') {
        this.o.log.debug(`${key}: returning held lease ${held.address}`);
        return leaseResult(held, conf.cniVersion);
      }
      this.o.log.debug(`${key}: acquiring lease`);
      const requested = held?.address ?? this.data.remembered[key];
      const lease = await this.withTransport(args.netns, args.ifname, async (t) => {
        const ack = await acquire(t, this.clientOptions(key, conf, this.o.acquireBudgetMs ?? 30000), requested);
        return this.toLease(key, args, conf, t.mac, ack.msg.yiaddr, ack.msg.options, ack.sentAt);
      });
      const result = leaseResult(lease, conf.cniVersion);
      this.data.leases[key] = lease;
      this.data.remembered[key] = lease.address;
      await this.o.store.save(this.data);
      this.schedule(lease);
      this.o.log.debug(`${key}: lease ${lease.address} from ${lease.serverId} for ${lease.leaseTime}s`);
      return result;
    });
  }

  private toLease(
    key: string,
    args: CmdArgs,
    conf: DhcpConf,
    mac: string,
    address: string,
    options: Map<number, Buffer>,
    sentAt: number,
  ): Lease {
    const serverId = optIp(options, Opt.ServerId) ?? '0.0.0.0';
    return {
      key,
      containerId: args.containerId,
      network: conf.name,
      ifname: args.ifname,
      netns: args.netns,
      mac,
      address,
      serverId,
      obtainedAt: sentAt,
      ...leaseTimers(options),
      options: optionsToRecord(options),
      paramList: conf.paramList,
      provide: optionsToRecord(conf.provide),
      priority: conf.priority || undefined,
    };
  }

  async release(args: CmdArgs): Promise<void> {
    const conf = parseConf(args);
    await this.releaseKey(clientKey(args.containerId, conf.name, args.ifname), conf);
  }

  /**
   * GC (spec 1.1): release every lease of the config's network whose
   * (containerID, ifname) is not in cni.dev/valid-attachments; returns the
   * keys released.
   */
  async gc(args: CmdArgs): Promise<string[]> {
    const conf = parseConf(args);
    const valid = validAttachments(args.stdin);
    const stale = this.leases()
      .filter((l) => l.network === conf.name && !valid.has(l.containerId, l.ifname))
      .map((l) => l.key);
    for (const key of stale) await this.releaseKey(key, conf);
    return stale;
  }

  /** DHCPRELEASE for the lease under `key` (a failure to send it is only logged), then drop it; nothing held is success. */
  private releaseKey(key: string, conf: DhcpConf): Promise<void> {
    return this.serial(key, async () => {
      const lease = this.data.leases[key];
      if (!lease) return;
      this.unschedule(key);
      try {
        await this.withTransport(lease.netns, lease.ifname, (t) => release(t, this.clientOptions(key, conf, 0), lease));
        this.o.log.debug(`${key}: released ${lease.address}`);
      } catch (err) {
        this.o.log.warn(`${key}: failed to send DHCPRELEASE for ${lease.address}: ${(err as Error).message}`);
      }
      delete this.data.leases[key];
      this.data.remembered[key] = lease.address;
      await this.o.store.save(this.data);
    });
  }

  private unschedule(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private schedule(l: Lease, at = nextWake(l, this.clock.now())): void {
    this.unschedule(l.key);
    if (this.stopped) return;
    const delay = Math.min(Math.max(0, at - this.clock.now()), 0x7fffffff);
    const timer = setTimeout(() => {
      void this.serial(l.key, () => this.maintain(l.key)).catch((err: Error) => this.o.log.warn(`${l.key}: ${err.message}`));
    }, delay);
    timer.unref?.();
    this.timers.set(l.key, timer);
  }

  /** One maintenance step: renew (unicast) past T1, rebind (broadcast) past T2, drop past expiry. */
  private async maintain(key: string): Promise<void> {
    this.timers.delete(key);
    const l = this.data.leases[key];
    if (!l || this.stopped) return;
    const now = this.clock.now();
    const phase = leasePhase(l, now);
    if (phase === 'bound') return this.schedule(l);
    if (phase === 'expired') {
      // The reference brings the interface down: the address is no longer the container's to use.
      this.o.log.warn(`${key}: lease ${l.address} expired, bringing ${l.ifname} down`);
      await this.o
        .setLinkDown?.(l.netns, l.ifname)
        .catch((err: Error) => this.o.log.warn(`${key}: failed to bring ${l.ifname} down: ${err.message}`));
      delete this.data.leases[key];
      await this.o.store.save(this.data);
      return;
    }
    const mode = phase === 'renewing' ? 'renew' : 'rebind';
    const conf = {paramList: l.paramList, provide: recordToOptions(l.provide)};
    const d = deadlines(l);
    const budget = Math.max(1000, Math.min(this.o.renewBudgetMs ?? 20000, (mode === 'renew' ? d.rebindAt : d.expiresAt) - now));
    try {
      const ack = await this.withTransport(l.netns, l.ifname, (t) => renew(t, this.clientOptions(key, conf, budget), l, mode));
      if (ack === 'nak') {
        this.o.log.warn(`${key}: server refused to extend ${l.address} (DHCPNAK); dropping lease`);
        delete this.data.leases[key];
        await this.o.store.save(this.data);
        return;
      }
      const opts = ack.msg.options;
      const updated: Lease = {
        ...l,
        obtainedAt: ack.sentAt,
        ...leaseTimers(opts),
        options: optionsToRecord(opts),
        serverId: optIp(opts, Opt.ServerId) ?? l.serverId,
      };
      this.data.leases[key] = updated;
      await this.o.store.save(this.data);
      this.o.log.debug(`${key}: ${mode} of ${l.address} ok, lease ${updated.leaseTime}s`);
      this.schedule(updated);
    } catch (err) {
      this.o.log.warn(`${key}: ${mode} of ${l.address} failed: ${(err as Error).message}`);
      if (/error looking up|Cannot find device|No such file/i.test((err as Error).message)) {
        this.o.log.warn(`${key}: interface or namespace gone; dropping lease`);
        delete this.data.leases[key];
        await this.o.store.save(this.data);
        return;
      }
      this.schedule(l, this.clock.now() + (this.o.renewRetryMs ?? 5000));
    }
  }
}
