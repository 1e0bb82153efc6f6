import {randomBytes} from 'node:crypto';

/** A unicast Ethernet address as `ip` prints it (lower case, colons), or undefined when the text is not one. */
export function parseUnicastMac(text: string): string | undefined {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  const mac = text.toLowerCase();
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === '00:00:00:00:00:00') return undefined;
  return mac;
}

/** A random unicast, locally administered MAC (what the kernel would pick). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
