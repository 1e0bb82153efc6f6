import type {Deps} from '../../deps.js';
import type {DockerEvent, EventStream} from '../../docker/client.js';
import {UserError} from '../../errors.js';
import {acquireWatchLock} from '../state/locks.js';
import {listCache} from '../state/result-cache.js';
import {gc, type GcItem} from '../gc.js';
import {died, destroyed, labelNetworks, started, type WatchAction} from './lifecycle.js';
import {errorText} from '../../util/error-text.js';
import type {FollowReport} from '../overlay/sync.js';

/**
 * `watch`: a foreground service that follows Docker's event stream and keeps
 * attachments in step with container lifecycles (see lifecycle.ts). On
 * every (re)connection it first reconciles: gc what is gone, then treats every
 * container as just started (running) or just died (stopped), so events missed
 * while dockerd or watch was down are caught up. Work for one container is
 * serialized in event order; different containers proceed concurrently.
 */
export const EVENT_FILTERS = {type: ['container'], event: ['start', 'die', 'destroy']};

export interface WatchReport {
  /** A lifecycle action with the event's latency (ms from the event's time to done). */
  action?(a: WatchAction & {event: string; latencyMs?: number}): void;
  gc?(freed: GcItem[]): void;
  info?(message: string): void;
  /** The follow events of the conf dir's overlay networks (their failures go to `info` unless given here). */
  overlay?: FollowReport;
}

export interface WatchOptions {
  signal?: AbortSignal;
  report?: WatchReport;
  /** Reconnect backoff: first delay and cap (ms). */
  backoffMs?: {initial: number; max: number};
  now?: () => number;
}

/** Serializes work per key, in submission order. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn).catch(() => undefined);
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, {once: true});
  });
}

export async function watch(deps: Deps, opts: WatchOptions = {}): Promise<void> {
  const {signal, report = {}} = opts;
  const now = opts.now ?? Date.now;
  const backoff = opts.backoffMs ?? {initial: 250, max: 5000};
  if (!deps.docker.events) throw new UserError('this Docker client cannot follow events');
  const lock = await acquireWatchLock(deps.paths.stateDir);
  // Every overlay network of the conf dir is kept in step beside Docker's events, as `overlay sync --follow` does.
  const overlays = import('../overlay/sync.js')
    .then((o) => o.followOverlaysIn(deps, {signal, report: {info: report.info, ...report.overlay}}))
    .catch((err: unknown) => deps.log.warn(`overlay networks: ${errorText(err)}`));
  const queue = new KeyedQueue();
  const handle = (event: string, id: string, timeNano?: number): Promise<void> =>
    queue.run(id, async () => {
      const fn = event === 'start' ? started : event === 'die' ? died : destroyed;
      let actions: WatchAction[];
      try {
        actions = await fn(deps, id);
      } catch (err) {
        actions = [{action: 'failed', containerId: id, name: id.slice(0, 12), network: '', message: `${event}: ${errorText(err)}`}];
      }
      const latencyMs = timeNano ? now() - timeNano / 1e6 : undefined;
      for (const a of actions) report.action?.({...a, event, latencyMs});
    });
  const onEvent = (e: DockerEvent): void => {
    if (e.Type === 'container' && ['start', 'die', 'destroy'].includes(e.Action)) void handle(e.Action, e.Actor.ID, e.timeNano);
  };
  const reconcile = async (): Promise<void> => {
    try {
      const r = await gc(deps);
      if (r.freed.length > 0) report.gc?.(r.freed);
      for (const f of r.failures) deps.log.warn(f.message);
    } catch (err) {
      deps.log.warn(`reconcile: gc failed: ${errorText(err)}`);
    }
    const attached = new Set((await listCache(deps.paths.cacheDir)).map((e) => e.containerId));
    for (const c of await deps.docker.listContainers(true)) {
      const running = c.State === 'running';
      if (running && (attached.has(c.Id) || labelNetworks(c.Labels).length > 0)) void handle('start', c.Id);
      else if (!running && attached.has(c.Id)) void handle('die', c.Id);
    }
    await queue.idle();
  };

  let delay = backoff.initial;
  let stream: EventStream | undefined;
  const stop = (): void => stream?.close();
  signal?.addEventListener('abort', stop, {once: true});
  try {
    while (!signal?.aborted) {
      try {
        stream = await deps.docker.events(EVENT_FILTERS, onEvent);
        if (signal?.aborted) break;
        report.info?.(`following Docker events at ${deps.docker.endpoint}`);
        await reconcile();
        delay = backoff.initial;
        await stream.closed;
        if (!signal?.aborted) report.info?.('Docker closed the event stream; reconnecting');
      } catch (err) {
        if (signal?.aborted) break;
        report.info?.(`Docker event stream unavailable (${errorText(err)}); retrying in ${delay} ms`);
        await sleep(delay, signal);
        delay = Math.min(delay * 2, backoff.max);
      } finally {
        stream?.close();
        stream = undefined;
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    await queue.idle();
    await overlays;
    lock.release();
  }
}
