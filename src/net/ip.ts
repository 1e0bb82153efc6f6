import type {RunResult, Runner} from '../exec/runner.js';
import {netnsRunner} from '../exec/runner.js';

/**
 * Thin typed wrappers over iproute2. Reads use `ip -j`; writes may be batched
 * with `ip -batch -`. `netns` undefined means the host (caller's) namespace.
 */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  link_type?: string;
  address?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  promiscuity?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

export interface AddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
  label?: string;
  dynamic?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

export interface LinkAddrs {
  ifindex: number;
  ifname: string;
  flags: string[];
  address?: string;
  addr_info: AddrInfo[];
}

export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  type?: string;
  flags: string[];
}

export function inNetns(runner: Runner, netns?: string): Runner {
  return netns ? netnsRunner(runner, netns) : runner;
}

async function ipJson<T>(runner: Runner, netns: string | undefined, args: string[]): Promise<T> {
  const {stdout} = await inNetns(runner, netns).run('ip', ['-j', ...args]);
  const text = stdout.trim();
  if (!text) return [] as unknown as T;
  return JSON.parse(text) as T;
}

export async function listLinks(runner: Runner, netns?: string): Promise<LinkInfo[]> {
  return ipJson<LinkInfo[]>(runner, netns, ['-d', 'link', 'show']);
}

/** The link called `name`, or undefined when it does not exist. */
export async function getLink(runner: Runner, name: string, netns?: string): Promise<LinkInfo | undefined> {
  const links = await listLinks(runner, netns);
  return links.find((l) => l.ifname === name);
}

export async function listAddrs(runner: Runner, netns?: string, dev?: string): Promise<LinkAddrs[]> {
  return ipJson<LinkAddrs[]>(runner, netns, dev ? ['addr', 'show', 'dev', dev] : ['addr', 'show']);
}

export async function listRoutes(runner: Runner, family: 4 | 6, netns?: string, table = 'main'): Promise<RouteInfo[]> {
  return ipJson<RouteInfo[]>(runner, netns, [`-${family}`, 'route', 'show', 'table', table]);
}

/**
 * Run several `ip` commands in one process (`ip -batch -`). Each line is an
 * argv without the leading `ip`, joined by single spaces: callers must pass only
 * validated tokens (no whitespace, quotes or newlines), which every name that
 * reaches here is.
 */
function checkTokens(lines: string[][]): void {
  for (const line of lines) {
    for (const tok of line) {
      if (!tok || /[\s"'\\#]/.test(tok)) throw new Error(`refusing unsafe token in ip batch: ${JSON.stringify(tok)}`);
    }
  }
}

export async function ipBatch(runner: Runner, lines: string[][], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  checkTokens(lines);
  if (lines.length === 1) {
    await inNetns(runner, netns).run('ip', lines[0]);
    return;
  }
  await inNetns(runner, netns).run('ip', ['-batch', '-'], {input: lines.map((l) => l.join(' ')).join('\n') + '\n'});
}

/**
 * ipBatch preceded, in the same process in the namespace, by best-effort
 * sysctl writes (unknown keys and failed writes ignored, as the reference
 * ignores them for the per-interface sysctls of ADD):
 * `sh -c 'sysctl -q -e -w "$@" >/dev/null 2>&1; exec ip -batch -' sh KEY=VALUE...`.
 * The pairs reach sysctl as arguments, never as shell text. One process in
 * the namespace where there were two; ip's stderr is the only stderr.
 */
export async function ipBatchAfterSysctls(runner: Runner, lines: string[][], sysctls: Record<string, string>, netns?: string): Promise<void> {
  const pairs = Object.entries(sysctls).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return ipBatch(runner, lines, netns);
  checkTokens([...lines, pairs]);
  const script = `sysctl -q -e -w "$@" >/dev/null 2>&1; exec ip -batch -`;
  await inNetns(runner, netns).run('sh', ['-c', script, 'sh', ...pairs], {input: lines.map((l) => l.join(' ')).join('\n') + '\n'});
}

/** Run one `ip` command. */
export async function ip(runner: Runner, args: string[], netns?: string): Promise<void> {
  await inNetns(runner, netns).run('ip', args);
}

/**
 * Several commands in one `ip -j -d -batch -`, reads and writes mixed: each
 * command that prints gives one JSON line, in order. The batch stops at the
 * first failing command (its 1-based number is in stderr as `-:N`); with
 * `reject: false` the caller gets what was printed up to there.
 */
export async function ipJsonBatch(runner: Runner, lines: string[][], netns?: string, reject = true): Promise<{outputs: unknown[][]; run: RunResult}> {
  checkTokens(lines);
  const run = await inNetns(runner, netns).run('ip', ['-j', '-d', '-batch', '-'], {input: lines.map((l) => l.join(' ')).join('\n') + '\n', reject});
  const outputs: unknown[][] = [];
  for (const text of run.stdout.split('\n')) {
    if (text.trim()) outputs.push(JSON.parse(text) as unknown[]);
  }
  return {outputs, run};
}

/** The 1-based number of the command an `ip -batch` failure stopped at, if stderr says. */
export function failedBatchLine(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
