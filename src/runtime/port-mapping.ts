/**
 * One published port as the `portMappings` capability carries it (CNI
 * CONVENTIONS), and its text. Kept apart from ./publish.ts, which parses and
 * checks them, so the command renderers load no IP code at start-up.
 */
export type Protocol = 'tcp' | 'udp';

/** One entry of `runtimeConfig.portMappings`, field for field as portmap reads it. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** Only when given: portmap reads an absent hostIP as every host address. */
  hostIP?: string;
}

/** `[HOSTIP:]HOSTPORT->CONTAINERPORT/PROTO`, as list and attach print it. */
export function formatPort(m: PortMapping): string {
  const host = m.hostIP === undefined ? '' : m.hostIP.includes(':') ? `[${m.hostIP}]:` : `${m.hostIP}:`;
  return `${host}${m.hostPort}->${m.containerPort}/${m.protocol}`;
}
