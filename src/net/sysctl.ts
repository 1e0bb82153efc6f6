import {readFileSync, writeFileSync} from 'node:fs';
import type {Runner} from '../exec/runner.js';
import {inNetns} from './iproute.js';

/**
 * sysctls by their /proc/sys path relative form with slashes, e.g.
 * "net/ipv4/conf/eth0/arp_notify" (slashes keep interface names with dots
 * intact). In another namespace they are written by `sysctl` run there; in
 * ours (the host's) in-process through /proc/sys.
 */
export async function readSysctl(runner: Runner, key: string, netns?: string): Promise<string> {
  const {stdout} = await inNetns(runner, netns).run('sysctl', ['-n', key]);
  return stdout.trim();
}

const pairsOf = (values: Record<string, string>): string[] => Object.entries(values).map(([k, v]) => `${k}=${v}`);

/** Write several sysctls in one process. Throws if any write fails. */
export async function writeSysctls(runner: Runner, values: Record<string, string>, netns?: string): Promise<void> {
  const pairs = pairsOf(values);
  if (pairs.length === 0) return;
  await inNetns(runner, netns).run('sysctl', ['-q', '-w', ...pairs], {discard: 'stdout'});
}

/**
 * Write several sysctls in one process, ignoring unknown keys and failed
 * writes, as the reference ignores them for the per-interface sysctls of ADD.
 */
export async function writeSysctlsBestEffort(runner: Runner, values: Record<string, string>, netns?: string): Promise<void> {
  const pairs = pairsOf(values);
  if (pairs.length === 0) return;
  await inNetns(runner, netns).run('sysctl', ['-q', '-e', '-w', ...pairs], {reject: false, discard: 'all'});
}

/**
 * Host-namespace sysctls, read and written in-process through /proc/sys (we
 * run in the host network namespace, so no subprocess is needed). Injectable
 * so unit tests never touch the real host.
 */
export interface HostSysctl {
  /** The value, or undefined when the key cannot be read. */
  read(key: string): string | undefined;
  /** Write one value; throws on failure. */
  write(key: string, value: string): void;
}

function procPath(key: string): string {
  if (!/^[A-Za-z0-9_.@:+-]+(\/[A-Za-z0-9_.@:+-]+)*$/.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new Error(`invalid sysctl key ${JSON.stringify(key)}`);
  }
  return `/proc/sys/${key}`;
}

export const procSysctl: HostSysctl = {
  read(key) {
    try {
      return readFileSync(procPath(key), 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  write(key, value) {
    writeFileSync(procPath(key), value);
  },
};

/** Write host sysctls, ignoring failures (missing keys included), like `sysctl -q -e -w` with errors ignored. */
export function writeHostSysctlsBestEffort(values: Record<string, string>, sys: HostSysctl = procSysctl): void {
  for (const [k, v] of Object.entries(values)) {
    try {
      sys.write(k, v);
    } catch {
      // the reference ignores errors for these
    }
  }
}

/** Write ip_forward / ipv6 all.forwarding = 1 (host, in-process) only where they are not 1 yet. */
export function enableForwarding(families: (4 | 6)[], sys: HostSysctl = procSysctl): void {
  const key = (f: 4 | 6): string => (f === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding');
  for (const f of families) {
    if (sys.read(key(f)) !== '1') sys.write(key(f), '1');
  }
}
