import {execFile, execFileSync} from 'node:child_process';
import {promisify} from 'node:util';

const execFileP = promisify(execFile);

/** Run a host command, return stdout (throws on failure). */
export async function sh(file: string, ...args: string[]): Promise<string> {
  return (await execFileP(file, args, {maxBuffer: 16 << 20})).stdout;
}

/** Run a host command synchronously, return stdout (throws on failure). */
export function shSync(...argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), {encoding: 'utf8', maxBuffer: 16 << 20});
}

/** Run a host command synchronously, ignoring failure: cleanup of what may already be gone. */
export function quietSync(...argv: string[]): void {
  try {
    execFileSync(argv[0], argv.slice(1), {stdio: 'ignore'});
  } catch {
    // already gone
  }
}

/** Run a host command, return its exit code only. */
export async function rc(file: string, ...args: string[]): Promise<number> {
  try {
    await execFileP(file, args);
    return 0;
  } catch (err) {
    return typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1;
  }
}

/** One ping from inside a namespace path (busybox from busybox-static; the host has no iputils). */
export function pingFromNetns(netns: string, address: string): Promise<number> {
  return rc('nsenter', `--net=${netns}`, '/bin/busybox', 'ping', '-c', '1', '-W', '2', address);
}

/** iptables-save lines (v4, all tables) that match `re`. */
export async function iptablesLines(re: RegExp): Promise<string[]> {
  return (await sh('iptables-save')).split('\n').filter((l) => re.test(l));
}
