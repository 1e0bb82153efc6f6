import type {Runner} from '../exec/runner.js';
import {inNetns} from './ip.js';

/**
 * sysctls by their /proc/sys path relative form with slashes, e.g.
 * "net/ipv4/conf/eth0/arp_notify" (slashes keep interface names with dots intact).
 */
export async function readSysctl(runner: Runner, key: string, netns?: string): Promise<string> {
  const {stdout} = await inNetns(runner, netns).run('sysctl', ['-n', key]);
  return stdout.trim();
}

/** Write several sysctls in one process. Throws if any write fails. */
export async function writeSysctls(runner: Runner, values: Record<string, string>, netns?: string): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return;
  await inNetns(runner, netns).run('sysctl', ['-q', '-w', ...pairs]);
}

/** Write sysctls, ignoring failures (the reference ignores errors for these). */
export async function writeSysctlsBestEffort(runner: Runner, values: Record<string, string>, netns?: string): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return;
  // -e: ignore unknown keys; reject false: a failed write is not fatal.
  await inNetns(runner, netns).run('sysctl', ['-q', '-e', '-w', ...pairs], {reject: false});
}
