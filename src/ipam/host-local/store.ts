import {
  accessSync,
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
  type Dirent,
} from 'node:fs';
import {join, relative, isAbsolute, basename, dirname} from 'node:path';
import {lockFile, openLockFile, withLock, type FileLock, type FlockOptions} from '../../lock/flock.js';
import {ipString, parseIP, type Addr} from '../../util/ip.js';
import {ReservationIndex} from './reservation-index.js';

/**
 * The reference host-local's disk store (backend/disk), byte for byte:
 * `<dataDir>/<network>/` (0755), one file per reserved IP holding
 * `<trimmed id>\r\n<ifname>` (O_EXCL, 0644), `last_reserved_ip.<N>` (0644),
 * and the flock'd `lock` file (0750). Legacy files holding only `<id>` are
 * recognised on lookup and release.
 */
export const LAST_IP_PREFIX = 'last_reserved_ip.';
export const LINE_BREAK = '\r\n';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'file exists',
  EDQUOT: 'disk quota exceeded',
};

/** A filesystem error worded as Go's *PathError: "<op> <path>: <errno text>". */
export function goFsError(err: unknown, op: string, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  const text = (e.code && ERRNO_TEXT[e.code]) || e.message;
  return new Error(`${op} ${path}: ${text}`);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/**
 * Same content and mode as the reference's ioutil.WriteFile(path, data, 0644),
 * without O_TRUNC: opening a non-empty file with O_TRUNC is slow (ext4 schedules
 * a flush of a file truncated to zero), overwriting in place and then cutting to
 * length is not; `npm run bench` times the attach and detach this is part of.
 * A ~15-byte write is one syscall either way.
 */
function overwriteSmallFile(path: string, data: string): void {
  const buf = Buffer.from(data);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    writeSync(fd, buf, 0, buf.length, 0);
    ftruncateSync(fd, buf.length);
  } finally {
    closeSync(fd);
  }
}
/** Go's strings.TrimSpace for ASCII/Unicode whitespace. */
function trimSpace(s: string): string {
  return s.trim();
}

export class DiskStore {
  readonly dir: string;
  private readonly lockPath: string;
  private readonly index?: ReservationIndex;
  /** This lock section's view of the files the index holds (set by an indexed walk). */
  private known?: Map<string, string>;
  private indexStale = false;
  /** Reservation files read whole (tests: an indexed lookup reads none). */
  filesRead = 0;

  private constructor(
    dir: string,
    private readonly lockOpts: FlockOptions,
    indexDir?: string,
  ) {
    this.dir = dir;
    this.lockPath = join(dir, 'lock');
    if (indexDir) this.index = new ReservationIndex(indexDir, dir);
  }

  /**
   * disk.New: validates the names, creates the directory (0755) and the lock file (0750).
   * `indexDir`: where the CLI keeps the store's reservation index (./reservation-index.ts);
   * without it (the plugin executables) every lookup reads the store, as the reference does.
   */
  static open(network: string, dataDir: string, lockOpts: FlockOptions = {}, indexDir?: string): DiskStore {
    if (!NAME_RE.test(network)) throw new Error(`invalid characters found in network name: ${network}`);
    if (!dataDir) throw new Error('empty dataDir');
    const dir = join(dataDir, network);
    const rel = relative(dataDir, dir);
    if (rel !== network || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`store path ${dir} escapes dataDir ${dataDir}`);
    try {
      mkdirSync(dir, {recursive: true, mode: 0o755});
    } catch (err) {
      throw goFsError(err, 'mkdir', dir);
    }
    const store = new DiskStore(dir, lockOpts, indexDir);
    try {
      closeSync(openLockFile(store.lockPath));
    } catch (err) {
      throw goFsError(err, 'open', store.lockPath);
    }
    return store;
  }

  lock(): Promise<FileLock> {
    return lockFile(this.lockPath, this.lockOpts);
  }

  /**
   * `fn` under the store's lock (sections of this process share one acquisition, see
   * src/lock/flock.ts). What a section learns of the files holds for that section only;
   * the index is brought up to date before the lock is let go.
   */
  withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    return withLock(
      this.lockPath,
      async () => {
        this.known = undefined;
        try {
          return await fn();
        } finally {
          this.saveIndex();
        }
      },
      this.lockOpts,
    );
  }

  private saveIndex(): void {
    const known = this.known;
    this.known = undefined;
    if (!this.index || !known || !this.indexStale) return;
    this.indexStale = false;
    this.index.save(known);
  }

  /** A file this section made or removed, in its view of the store. */
  private noted(name: string, content?: string): void {
    if (!this.known) return;
    if (content === undefined) this.known.delete(name);
    else this.known.set(name, content);
    this.indexStale = true;
  }

  private ipPath(ip: Addr): string {
    return join(this.dir, ipString(ip));
  }

  /** Creates `<ip>` exclusively; false when it is already taken. Records last_reserved_ip.<rangeId>. */
  reserve(id: string, ifname: string, ip: Addr, rangeId: string): boolean {
    const fname = this.ipPath(ip);
    let fd: number;
    try {
      fd = openSync(fname, constants.O_RDWR | constants.O_EXCL | constants.O_CREAT, 0o644);
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      throw goFsError(err, 'open', fname);
    }
    const content = trimSpace(id) + LINE_BREAK + ifname;
    try {
      writeSync(fd, content);
    } catch (err) {
      closeSync(fd);
      unlinkQuiet(fname);
      throw goFsError(err, 'write', fname);
    }
    closeSync(fd);
    this.noted(basename(fname), content);
    const ipfile = join(this.dir, LAST_IP_PREFIX + rangeId);
    try {
      overwriteSmallFile(ipfile, ipString(ip));
    } catch (err) {
      throw goFsError(err, 'open', ipfile);
    }
    return true;
  }

  /** The last reserved IP for a range set, or undefined (missing or unparsable). */
  lastReservedIP(rangeId: string): Addr | undefined {
    try {
      return parseIP(readFileSync(join(this.dir, LAST_IP_PREFIX + rangeId), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /**
   * The files whose trimmed content is `match` or `legacy`, in the order of a
   * walk of every regular file under the store, recursively, in lexical order
   * (filepath.Walk). With an index, the reservation files are not read (see
   * indexedFiles).
   */
  private filesOf(match: string, legacy: string): {path: string; legacy: boolean}[] {
    const indexed = this.index && this.indexedFiles(this.index);
    if (!indexed) {
      const out: {path: string; legacy: boolean}[] = [];
      this.walkDir(this.dir, (path, content) => {
        const c = trimSpace(content);
        if (c === match || c === legacy) out.push({path, legacy: c !== match});
      });
      return out;
    }
    const found: {name: string; legacy: boolean}[] = [];
    for (const [name, content] of indexed) {
      const c = trimSpace(content);
      if (c === match || c === legacy) found.push({name, legacy: c !== match});
    }
    found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return found.map((f) => ({path: join(this.dir, f.name), legacy: f.legacy}));
  }

  /**
   * The store's files, name → content: the lock and last_reserved_ip.* read
   * now, the others from the index, reading only names it does not hold yet;
   * undefined when the store holds anything but regular files (a subdirectory
   * or a link is walked as the reference walks it).
   */
  private indexedFiles(index: ReservationIndex): Map<string, string> | undefined {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.dir, {withFileTypes: true});
    } catch {
      return undefined;
    }
    if (!entries.every((e) => e.isFile())) return undefined;
    const prev = index.load();
    const files = new Map<string, string>();
    const all = new Map<string, string>();
    for (const e of entries) {
      const live = e.name === 'lock' || e.name.startsWith(LAST_IP_PREFIX);
      let content = live ? undefined : prev.get(e.name);
      if (content === undefined) {
        content = this.readQuiet(join(this.dir, e.name));
        if (content === undefined) continue;
        if (!live) this.indexStale = true;
      }
      if (!live) files.set(e.name, content);
      all.set(e.name, content);
    }
    if (files.size !== prev.size) this.indexStale = true;
    this.known = files;
    return all;
  }

  private readQuiet(path: string): string | undefined {
    try {
      const content = readFileSync(path, 'utf8');
      this.filesRead++;
      return content;
    } catch {
      return undefined;
    }
  }

  private walkDir(dir: string, visit: (path: string, content: string) => void): void {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        this.walkDir(p, visit);
        continue;
      }
      // filepath.Walk follows no links; a symlink's target is read as the reference reads it.
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      const content = this.readQuiet(p);
      if (content !== undefined) visit(p, content);
    }
  }

  private keys(id: string, ifname: string): {match: string; legacy: string} {
    return {match: trimSpace(id) + LINE_BREAK + ifname, legacy: trimSpace(id)};
  }

  /** Removes every file owned by id+ifname; only if none, the legacy `<id>` files (one walk for both). */
  releaseByID(id: string, ifname: string): void {
    const {match, legacy} = this.keys(id, ifname);
    const found = this.filesOf(match, legacy);
    const owned = found.filter((f) => !f.legacy).map((f) => f.path);
    const legacyOwned = found.filter((f) => f.legacy).map((f) => f.path);
    if (!owned.map((p) => this.release(p, match)).some(Boolean)) legacyOwned.forEach((p) => this.release(p, legacy));
  }

  /**
   * Removes `path` if it still holds `owner`. An indexed walk may have answered
   * from the index, and a removal is checked against the file itself.
   */
  private release(path: string, owner: string): boolean {
    if (this.known) {
      const now = this.readQuiet(path);
      if (now === undefined || trimSpace(now) !== owner) return false;
    }
    if (!unlinkQuiet(path)) return false;
    this.noted(basename(path));
    return true;
  }

  /** IPs whose files belong to id+ifname or to the legacy `<id>`. */
  getByID(id: string, ifname: string): Addr[] {
    const {match, legacy} = this.keys(id, ifname);
    const ips: Addr[] = [];
    for (const {path} of this.filesOf(match, legacy)) {
      const ip = parseIP(basename(path));
      if (ip) ips.push(ip);
    }
    return ips;
  }

  /** Whether any file belongs to id+ifname, else to the legacy `<id>` (one walk for both). */
  findByID(id: string, ifname: string): boolean {
    const {match, legacy} = this.keys(id, ifname);
    return this.filesOf(match, legacy).length > 0;
  }
}

function unlinkQuiet(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** One reservation file of a store, as read back (legacy files have no ifname). */
export interface Reservation {
  ip: string;
  id: string;
  ifname?: string;
  path: string;
}

/** Every reservation file of the store (lock and last_reserved_ip.* excluded); call under the lock. */
export function listReservations(store: DiskStore): Reservation[] {
  return readReservations(store.dir);
}

/** The reservation files in a store directory; none when it does not exist (yet). */
export function readReservations(dir: string): Reservation[] {
  const out: Reservation[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'lock' || name.startsWith(LAST_IP_PREFIX) || !parseIP(name)) continue;
    const p = join(dir, name);
    let content: string;
    try {
      content = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    const [id, ifname] = content.trim().split(LINE_BREAK);
    out.push({ip: name, id: id.trim(), ifname: ifname?.trim() || undefined, path: p});
  }
  return out;
}

/** Removes a reservation file if it still holds the same owner; true when removed. Call under the lock. */
export function releaseReservation(r: Reservation): boolean {
  let content: string;
  try {
    content = readFileSync(r.path, 'utf8');
  } catch {
    return false;
  }
  const [id, ifname] = content.trim().split(LINE_BREAK);
  if (id.trim() !== r.id || (ifname?.trim() || undefined) !== r.ifname) return false;
  return unlinkQuiet(r.path);
}

/**
 * Why ADD could not write a store directory (which it creates when missing),
 * worded as Go's *PathError, or undefined when it could: the directory, or
 * the nearest existing one above it, must be a directory we may write in.
 */
export function storeWriteProblem(dir: string): string | undefined {
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return `stat ${at}: not a directory`;
      break;
    } catch (err) {
      if (errCode(err) !== 'ENOENT' || dirname(at) === at) return goFsError(err, 'stat', at).message;
      at = dirname(at);
    }
  }
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (err) {
    return goFsError(err, 'access', at).message;
  }
  return undefined;
}
