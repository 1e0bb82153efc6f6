import {spawn, type ChildProcess} from 'node:child_process';
import {constants} from 'node:fs';

/**
 * Node has no flock(2). Spawning util-linux `flock` for every lock costs a
 * process per lock (3–5 ms each here, and half of all processes a bulk detach
 * starts). Instead one small Perl process per CLI process (perl-base is
 * Essential on Debian, so it is always there) holds the locks for us: we send
 * it "lock this path" and "unlock" lines over a pipe and it answers once the
 * lock is held. The locks are ordinary flock(LOCK_EX) locks on the same
 * files, so the reference host-local and other cni-docker processes exclude
 * it exactly as before.
 *
 * Crash safety is the same as with a lock on our own fd: the helper reads its
 * stdin, and when our process dies (even by SIGKILL) the pipe closes and the
 * helper exits, which releases every lock it held.
 *
 * A waiting lock is retried with LOCK_NB every 2 ms (so one waiting lock never
 * blocks an unlock behind it). A lock won on a file that was unlinked or
 * replaced meanwhile is dropped and taken on the file now at the path, as
 * lockFile() does. Paths travel hex-encoded (any byte is fine).
 *
 * The script loads no modules (Fcntl alone would add ~10 ms to its start):
 * flock's LOCK_EX|LOCK_NB is 6 on Linux, O_CREAT comes from Node's
 * fs.constants, O_RDONLY is 0, and timeouts are whole seconds.
 *
 * Protocol, one line each way:
 *   L <id> <seconds|-> <hex path>   ->  ok <id> <dev> <ino> | busy <id> (timed out) | err <id> <text>
 *   U <id>                          (close: the lock goes)
 */
const SCRIPT = String.raw`
my ($O_CREAT) = @ARGV;
$| = 1;
my (%held, @wait);
my $buf = '';
sub attempt {
  my ($w) = @_;
  for (;;) {
    if (!$w->{fh}) {
      my $fh;
      if (!sysopen($fh, $w->{path}, $O_CREAT, 0750)) { print "err $w->{id} $!\n"; return 1; }
      $w->{fh} = $fh;
    }
    if (!flock($w->{fh}, 6)) {
      return 0 if !defined $w->{until} || time < $w->{until};
      close $w->{fh};
      print "busy $w->{id}\n";
      return 1;
    }
    my @a = stat $w->{fh};
    my @b = stat $w->{path};
    if (@b && $a[0] == $b[0] && $a[1] == $b[1]) { $held{$w->{id}} = $w->{fh}; print "ok $w->{id} $a[0] $a[1]\n"; return 1; }
    close $w->{fh};
    delete $w->{fh};
  }
}
for (;;) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1;
  if (select($rin, undef, undef, @wait ? 0.002 : undef) > 0) {
    my $n = sysread(STDIN, $buf, 65536, length $buf);
    exit 0 if !$n;
    while ($buf =~ s/\A([^\n]*)\n//) {
      my ($op, $id, $secs, $hex) = split / /, $1;
      if ($op eq 'L') {
        my $w = {id => $id, path => pack('H*', $hex), until => $secs eq '-' ? undef : time + $secs};
        push @wait, $w if !attempt($w);
      } elsif ($op eq 'U' && exists $held{$id}) {
        close(delete $held{$id});
      }
    }
  }
  @wait = grep { !attempt($_) } @wait;
}
`;

/** The helper could not be started (no perl): callers fall back to flock(1). */
export class LockHelperUnavailable extends Error {}

/** A held lock: its handle and the file it is on. */
export interface HeldLock {
  id: number;
  dev: number;
  ino: number;
}

interface Waiter {
  resolve(dev: number, ino: number): void;
  reject(err: Error): void;
  timeoutSeconds?: number;
}

class LockHelper {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, Waiter>();
  private readonly held = new Set<number>();
  private nextId = 1;
  private buf = '';
  private dead: Error | undefined;

  constructor(perl: string) {
    this.child = spawn(perl, ['-e', SCRIPT, String(constants.O_CREAT)], {stdio: ['pipe', 'pipe', 'pipe']});
    let stderr = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      stderr += d;
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.onData(d));
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      this.die(err.code === 'ENOENT' ? new LockHelperUnavailable(`${perl} not found`) : err);
    });
    this.child.on('exit', (code, signal) => {
      this.die(new Error(`lock helper exited (${signal ?? `status ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    this.child.stdin!.on('error', () => undefined);
    // Nothing here keeps the process alive unless a lock is being waited for.
    this.child.unref();
    this.idle();
  }

  private idle(): void {
    const busy = this.waiting.size > 0;
    for (const s of [this.child.stdout, this.child.stderr, this.child.stdin] as const) {
      const h = s as unknown as {ref?: () => void; unref?: () => void} | null;
      if (busy) h?.ref?.();
      else h?.unref?.();
    }
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const [verb, idText, ...rest] = line.split(' ');
      const id = Number(idText);
      const w = this.waiting.get(id);
      if (!w) continue;
      this.waiting.delete(id);
      if (verb === 'ok') {
        this.held.add(id);
        w.resolve(Number(rest[0]), Number(rest[1]));
      } else if (verb === 'busy') {
        w.reject(new Error(`timed out waiting for lock after ${w.timeoutSeconds}s`));
      } else {
        w.reject(new Error(`failed to lock: ${rest.join(' ') || line}`));
      }
    }
    this.idle();
  }

  private die(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    if (helper === this) helper = undefined;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.held.clear();
  }

  /** Resolves with a handle once the lock on `path` is held. */
  lock(path: string, timeoutSeconds?: number): Promise<HeldLock> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<HeldLock>((resolve, reject) => {
      this.waiting.set(id, {resolve: (dev, ino) => resolve({id, dev, ino}), reject, timeoutSeconds});
      this.idle();
      const secs = timeoutSeconds === undefined ? '-' : String(timeoutSeconds);
      this.child.stdin!.write(`L ${id} ${secs} ${Buffer.from(path).toString('hex')}\n`);
    });
  }

  unlock(id: number): void {
    if (!this.held.delete(id) || this.dead) return;
    this.child.stdin!.write(`U ${id}\n`);
  }

  /** Whether the helper process has ended (its locks are released with it). */
  get ended(): boolean {
    return this.dead !== undefined;
  }

  /** Whether the lock is still held (false once released, or if the helper died). */
  holds(id: number): boolean {
    return !this.dead && this.held.has(id);
  }
}

let helper: LockHelper | undefined;
let unavailable = false;

/**
 * The process's helper, started on first use (and again after it ended, for a
 * long-lived process such as the service); undefined when perl is missing
 * (use flock(1)).
 */
export function lockHelper(perl = 'perl'): LockHelper | undefined {
  if (unavailable) return undefined;
  if (!helper || helper.ended) helper = new LockHelper(perl);
  return helper;
}

/** Remember that the helper cannot run here, so later locks go straight to flock(1). */
export function markLockHelperUnavailable(): void {
  unavailable = true;
}

/** Start the helper now (it starts anyway on first use): lets its start overlap other waiting. */
export function warmLockHelper(): void {
  lockHelper();
}

export type {LockHelper};
