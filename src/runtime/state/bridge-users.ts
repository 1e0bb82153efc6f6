import {mkdir, opendir, readdir, rm, rmdir, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';

/**
 * Which attachments use which bridge, as one empty file per attachment:
 * `<stateDir>/bridges/<bridge>/<network>-<containerId>-<ifname>`. Whether a
 * bridge's forwarding rules may close is then one directory read, however many
 * attachments there are on other bridges or on this one, instead of reading
 * and parsing every cached result. A marker is written with an attachment's
 * pending record, before its ADD, and removed with its metadata
 * (./attachment-meta.ts deleteMeta): after a DEL, a rolled-back ADD, or gc.
 *
 * State written by a version without this index is indexed once, from the
 * known attachments, the first time the forwarding rules are decided
 * (`ensureIndexed`, under the forwarding lock); the file `.indexed` records it.
 */
const INDEXED = '.indexed';

export function bridgeUsersDir(stateDir: string): string {
  return path.join(stateDir, 'bridges');
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Record `key` as a user of each of `bridges`. */
export async function addBridgeUser(stateDir: string, bridges: readonly string[], key: string): Promise<void> {
  for (const b of bridges) {
    const dir = path.join(bridgeUsersDir(stateDir), b);
    // A concurrent removal may take the bridge's directory away between the two steps: make it again.
    for (let attempt = 0; ; attempt++) {
      await mkdir(dir, {recursive: true, mode: 0o755});
      try {
        await writeFile(path.join(dir, key), '');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }
}

/** Forget `key` on every bridge; a bridge left without users loses its directory. */
export async function removeBridgeUser(stateDir: string, key: string): Promise<void> {
  const root = bridgeUsersDir(stateDir);
  for (const b of await names(root)) {
    const dir = path.join(root, b);
    await rm(path.join(dir, key), {force: true});
    await rmdir(dir).catch(() => undefined);
  }
}

/**
 * Whether `dir` holds a user other than those in `except`: the directory is
 * read only until one is found, not in full (a bridge may have thousands).
 */
async function hasUserOutside(dir: string, except: ReadonlySet<string>): Promise<boolean> {
  let d;
  try {
    d = await opendir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  // Leaving the loop early closes the directory.
  for await (const e of d) if (!e.name.startsWith('.') && !except.has(e.name)) return true;
  return false;
}

/** The bridges with at least one user outside `leaving`. */
export async function bridgesInUse(stateDir: string, leaving: ReadonlySet<string> = new Set()): Promise<string[]> {
  const root = bridgeUsersDir(stateDir);
  const out: string[] = [];
  for (const b of await names(root)) {
    if (await hasUserOutside(path.join(root, b), leaving)) out.push(b);
  }
  return out;
}

/**
 * gc: remove the markers of attachments that are neither cached nor pending
 * (`known` holds their keys), such as one left by an attach killed between
 * writing its marker and its pending record. Markers younger than `minAgeMs`
 * stay: an attach may be between those two writes right now. Returns the
 * keys removed.
 */
export async function pruneBridgeUsers(
  stateDir: string,
  known: ReadonlySet<string>,
  minAgeMs = 60_000,
  now = Date.now(),
): Promise<string[]> {
  const root = bridgeUsersDir(stateDir);
  const removed: string[] = [];
  for (const b of await names(root)) {
    const dir = path.join(root, b);
    for (const key of await names(dir)) {
      if (known.has(key)) continue;
      const file = path.join(dir, key);
      const age = now - (await stat(file).catch(() => ({mtimeMs: now}))).mtimeMs;
      if (age < minAgeMs) continue;
      await rm(file, {force: true});
      removed.push(key);
    }
    await rmdir(dir).catch(() => undefined);
  }
  return removed;
}

/**
 * Index the known attachments once (state from before the index existed).
 * `known` yields each attachment's key and bridges; called under the
 * forwarding lock, so two processes do not both build it.
 */
export async function ensureIndexed(stateDir: string, known: () => Promise<{key: string; bridges: string[]}[]>): Promise<void> {
  const marker = path.join(bridgeUsersDir(stateDir), INDEXED);
  try {
    await stat(marker);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const {key, bridges} of await known()) await addBridgeUser(stateDir, bridges, key);
  await mkdir(bridgeUsersDir(stateDir), {recursive: true, mode: 0o755});
  await writeFile(marker, '');
}
