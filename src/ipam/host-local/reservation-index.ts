import {createHash} from 'node:crypto';
import {existsSync, readFileSync} from 'node:fs';
import {readFile, readdir, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {writeFileAtomicSync} from '../../util/atomic.js';

/**
 * What the reservation files of one host-local store hold, kept for the CLI in
 * its own state dir (never in the store, which stays the reference's layout
 * file for file). Finding or releasing a container's addresses otherwise reads
 * every reservation file, as the reference's store does, and that read grows
 * with every attachment on the network.
 *
 * The store's directory listing is read every time and is what counts: a name
 * the index lacks (another writer's reservation, from the reference plugin, a
 * plugin executable or a hand edit) is read and indexed, a name gone from the
 * listing is dropped. Reservation files are created exclusively and never
 * rewritten, by the reference or by us, so a name in both means the same
 * owner. What the index cannot see is a file removed and made again under the
 * same name, with another owner, by another writer between two of our
 * lookups: lookups would name the old owner until the next change to that
 * name; a release checks the file itself before removing it. All reads and
 * writes happen under the store's lock, as the reference's do.
 *
 * One process also keeps the last index of each store in memory: a bulk attach
 * lists the directory per address but parses no index file for it.
 */
interface OnDisk {
  dir: string;
  /** [name, content] pairs (an object keyed by addresses is slow to build). */
  files: [string, string][];
}

const memory = new Map<string, Map<string, string>>();

export class ReservationIndex {
  readonly file: string;

  constructor(
    indexDir: string,
    readonly storeDir: string,
  ) {
    this.file = join(indexDir, `${createHash('sha256').update(storeDir).digest('hex').slice(0, 32)}.json`);
  }

  /** File name → content as last indexed (empty when there is no usable index). Do not change it. */
  load(): ReadonlyMap<string, string> {
    let files = memory.get(this.file);
    if (!files) {
      files = this.read();
      memory.set(this.file, files);
    }
    return files;
  }

  /**
   * Record `files` (name → content) as the store's. Synchronous, as the store's
   * own I/O: it happens inside the store's lock, which every address of a bulk
   * attach waits for. A failed write only costs the next process a full read.
   */
  save(files: Map<string, string>): void {
    memory.set(this.file, files);
    try {
      writeFileAtomicSync(this.file, JSON.stringify({dir: this.storeDir, files: [...files]} satisfies OnDisk));
    } catch {
      // the index is a cache: without it the store is read in full
    }
  }

  private read(): Map<string, string> {
    const files = new Map<string, string>();
    try {
      const d = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<OnDisk>;
      if (d.dir !== this.storeDir || !Array.isArray(d.files)) return files;
      for (const f of d.files) if (Array.isArray(f) && typeof f[0] === 'string' && typeof f[1] === 'string') files.set(f[0], f[1]);
    } catch {
      // missing or unreadable: start empty
    }
    return files;
  }
}

/** Forget the indexes held in memory, as a new process starts (tests). */
export function forgetIndexesInMemory(): void {
  memory.clear();
}

/**
 * gc: the index files in `indexDir` whose store directory no longer exists
 * (removed with its network), as `[file name, store dir]`; removed unless
 * `dryRun`. A file that is not an index is left alone.
 */
export async function pruneIndexes(indexDir: string, dryRun = false): Promise<[string, string][]> {
  let names: string[];
  try {
    names = await readdir(indexDir);
  } catch {
    return [];
  }
  const out: [string, string][] = [];
  for (const name of names.filter((n) => /^[0-9a-f]{32}\.json$/.test(n))) {
    const file = join(indexDir, name);
    let dir: unknown;
    try {
      dir = (JSON.parse(await readFile(file, 'utf8')) as Partial<OnDisk>).dir;
    } catch {
      continue;
    }
    if (typeof dir !== 'string' || existsSync(dir)) continue;
    if (!dryRun) await rm(file, {force: true});
    out.push([name, dir]);
  }
  return out;
}
