/** A unicast Ethernet address as `ip` prints it (lower case, colons), or undefined when the text is not one. */
export function parseUnicastMac(text: string): string | undefined {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  const mac = text.toLowerCase();
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === '00:00:00:00:00:00') return undefined;
  return mac;
}
