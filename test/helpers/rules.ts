import {execFileSync} from 'node:child_process';
import {quietSync} from './host.js';

/**
 * Rule state as `iptables-save`/`ip6tables-save` prints it, for comparing the
 * host state two plugin sets leave: chain declarations (without policy and
 * counters) and `-A` rules, each prefixed with its table.
 */
export function saveRules(save: 'iptables-save' | 'ip6tables-save', tables: string[]): string[] {
  const out: string[] = [];
  for (const table of tables) {
    const text = execFileSync(save, ['-t', table], {encoding: 'utf8'});
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) out.push(`${table} :${line.slice(1).split(' ')[0]}`);
      else if (line.startsWith('-A ')) out.push(`${table} ${line}`);
    }
  }
  return out;
}

/** Lines of `after` that are not in `before` (as multisets). */
export function added(before: string[], after: string[]): string[] {
  const left = new Map<string, number>();
  for (const l of before) left.set(l, (left.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of after) {
    const n = left.get(l) ?? 0;
    if (n > 0) left.set(l, n - 1);
    else out.push(l);
  }
  return out;
}

/**
 * Replace run-specific words (container ids, addresses, names) by labels,
 * and the hashed chain names of the bridge (`CNI-<24 hex>`) and portmap
 * (`CNI-DN-<hex>`) by the label of the container whose rules use them, then
 * sort: two runs of the same steps compare equal.
 */
export function normaliseRules(lines: string[], words: [string, string][], ids: [string, string][]): string[] {
  const owner = new Map<string, string>();
  for (const l of lines) {
    const chain = /-j (CNI-(?:DN-)?[0-9a-f]{12,})\b/.exec(l)?.[1];
    const id = ids.find(([full]) => l.includes(full));
    if (chain && id) owner.set(chain, `${chain.startsWith('CNI-DN-') ? 'CNI-DN-' : 'CNI-'}<${id[1]}>`);
  }
  const subst = (l: string): string => {
    let s = l.replace(/CNI-(?:DN-)?[0-9a-f]{12,}\b/g, (c) => owner.get(c) ?? 'CNI-<unowned>');
    for (const [full, label] of ids) s = s.split(full).join(`<${label}>`);
    for (const [word, label] of words) s = s.split(word).join(label);
    return s;
  };
  return lines.map(subst).sort();
}

/** The nat chains the reference portmap sets up once per host and never removes. */
export const PORTMAP_SHARED = [
  'nat :CNI-HOSTPORT-DNAT',
  'nat :CNI-HOSTPORT-MASQ',
  'nat :CNI-HOSTPORT-SETMARK',
  'nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  'nat -A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  'nat -A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  'nat -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  'nat -A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
];

/** Remove portmap's host-wide chains when they were not there at the start (`atStart`, saveRules of nat) and hold nothing. */
export function removePortmapSharedChains(atStart: string[]): void {
  const now = saveRules('iptables-save', ['nat']);
  if (atStart.includes('nat :CNI-HOSTPORT-DNAT') || !now.includes('nat :CNI-HOSTPORT-DNAT')) return;
  if (now.some((l) => l.startsWith('nat -A CNI-HOSTPORT-DNAT '))) return;
  quietSync('iptables', '-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
  quietSync('iptables', '-t', 'nat', '-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
  quietSync(
    'iptables',
    '-t',
    'nat',
    '-D',
    'POSTROUTING',
    '-m',
    'comment',
    '--comment',
    'CNI portfwd requiring masquerade',
    '-j',
    'CNI-HOSTPORT-MASQ',
  );
  for (const c of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK']) {
    quietSync('iptables', '-t', 'nat', '-F', c);
    quietSync('iptables', '-t', 'nat', '-X', c);
  }
}
