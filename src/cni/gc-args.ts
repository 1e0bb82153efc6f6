import {CniError, ErrorCode} from './errors.js';

/**
 * The GC verb's `cni.dev/valid-attachments` (spec 1.1; libcni also sends the
 * historical `cni.dev/attachments`): the attachments a plugin must keep. An
 * absent or null list keeps nothing, as libcni's nil list means.
 */
export interface ValidAttachments {
  /** Whether (id, ifname) is valid; a legacy record without ifname is valid when its id is. */
  has(containerId: string, ifname?: string): boolean;
  readonly containerIds: ReadonlySet<string>;
}

export function validAttachments(stdin: string): ValidAttachments {
  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(stdin) as Record<string, unknown>;
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to parse GC config: ${(err as Error).message}`);
  }
  const raw = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? [];
  if (!Array.isArray(raw)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'cni.dev/valid-attachments must be a list');
  const pairs = new Set<string>();
  const ids = new Set<string>();
  for (const a of raw as {containerID?: unknown; ifname?: unknown}[]) {
    if (typeof a?.containerID !== 'string') continue;
    ids.add(a.containerID);
    pairs.add(`${a.containerID}\0${typeof a.ifname === 'string' ? a.ifname : ''}`);
  }
  return {
    containerIds: ids,
    has: (id, ifname) => (ifname === undefined ? ids.has(id) : pairs.has(`${id}\0${ifname}`)),
  };
}
