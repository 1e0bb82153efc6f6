import type {Deps} from '../../deps.js';
import type {NetworkConfigList} from '../../cni/config.js';
import {entryKey, knownEntries} from '../state/known-attachments.js';
import {ensureForward, removeForward} from '../../net/iptables-forward.js';
import {bridgesOf, cachedList, overlayBridgesOf} from '../network-config.js';
import {lockedForward} from '../state/locks.js';
import {bridgesInUse as usersOfBridges, ensureIndexed} from '../state/bridge-users.js';

/**
 * When the forwarding rules of a bridge (net/iptables-forward.ts) open and close, under
 * one lock. The rule: a bridge is open while any known
 * attachment uses it, cached or pending (an attach writes its pending record,
 * and its bridges' user markers, before its ADD). An attach opens its bridges after writing that record,
 * alongside its ADD; a detach closes the bridges that only its own
 * attachments use, alongside their DELs, and opens them again for any DEL
 * that fails. Both decide under the lock, so whichever runs second sees the
 * other: an attach that wrote its record first keeps the bridge open, and one
 * that wrote it later opens it again after the close. Two detaches emptying
 * one bridge at once each see the other's attachments still cached and keep
 * it open; each checks again once its own DELs are done, and the second of
 * those checks closes it.
 */

/**
 * Open forwarding for a list's bridges once per attach call: the first target
 * takes the lock and writes the filter table, the others await it. A failure
 * is not remembered: the next target retries. `self`: the key of the
 * attachment opening them, whose own marker does not count as another user.
 */
export type ForwardMemo = Map<string, Promise<void>>;

export function openForwarding(
  deps: Deps,
  bridges: string[],
  memo: ForwardMemo,
  overlays: readonly string[] = [],
  self?: string,
): Promise<void> {
  const key = memoKey(bridges);
  let p = memo.get(key);
  if (!p) {
    p = lockedForward(deps, async () => {
      // No other attachment on any bridge: the chain should not exist yet (one write, no read).
      // Any other (on these bridges or another) means the chain is in place: read and add only
      // what is missing, usually nothing, rather than a write bound to fail.
      let fresh = (await bridgesInUse(deps, new Set(self === undefined ? [] : [self]))).length === 0;
      for (const b of bridges) {
        await ensureForward(deps.runner, b, fresh, overlays.includes(b));
        fresh = false;
      }
    });
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

/**
 * Close the forwarding rules of the lists' bridges (or of those in `only`)
 * that no known attachment uses, leaving out the attachments in `leaving`
 * (those a detach is deleting now). Returns the bridges it closed.
 */
export async function releaseForwarding(
  deps: Deps,
  lists: NetworkConfigList[],
  leaving: ReadonlySet<string> = new Set(),
  only?: readonly string[],
): Promise<string[]> {
  const bridges = new Set(lists.flatMap(bridgesOf).filter((b) => !only || only.includes(b)));
  const overlays = new Set(lists.flatMap(overlayBridgesOf));
  if (bridges.size === 0) return [];
  return lockedForward(deps, async () => {
    const inUse = new Set(await bridgesInUse(deps, leaving));
    const closing = [...bridges].filter((b) => !inUse.has(b));
    for (const [i, b] of closing.entries()) {
      // With no bridge left in use, the last one closed takes the chain along.
      await removeForward(deps.runner, b, inUse.size === 0 && i === closing.length - 1, overlays.has(b));
    }
    return closing;
  });
}

/**
 * The bridges any attachment uses, except those in `leaving`: one read of the
 * bridge-users index (../state/bridge-users.ts), indexed from the known
 * attachments the first time. Called under the forwarding lock.
 */
async function bridgesInUse(deps: Deps, leaving: ReadonlySet<string> = new Set()): Promise<string[]> {
  await ensureIndexed(deps.paths.stateDir, async () => {
    const out: {key: string; bridges: string[]}[] = [];
    for (const e of await knownEntries(deps)) {
      try {
        out.push({key: entryKey(e), bridges: bridgesOf(cachedList(e.config))});
      } catch {
        // an entry we cannot parse does not keep a bridge open
      }
    }
    return out;
  });
  return usersOfBridges(deps.paths.stateDir, leaving);
}

function memoKey(bridges: string[]): string {
  return bridges.join(' ');
}

/**
 * After an attach failed and was rolled back: close its list's bridges unless
 * another attachment uses them. The call's memo forgets them first, so a later
 * target of the same call opens them again rather than trusting the old open
 * (a target that registered before this check keeps them open instead).
 */
export async function releaseAfterFailedAttach(deps: Deps, list: NetworkConfigList, memo: ForwardMemo): Promise<void> {
  memo.delete(memoKey(bridgesOf(list)));
  await releaseForwarding(deps, [list]);
}

/** Open `bridges` again (a detach closed them, then a DEL failed and its attachment stays). */
export async function reopenForwarding(deps: Deps, bridges: string[], overlays: readonly string[] = []): Promise<void> {
  if (bridges.length === 0) return;
  await lockedForward(deps, async () => {
    for (const b of bridges) await ensureForward(deps.runner, b, false, overlays.includes(b));
  });
}
