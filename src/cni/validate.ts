import {CniError, ErrorCode} from './errors.js';

/**
 * The reference's input validation (libcni / skel `utils.Validate*`): these
 * strings end up in file paths and in ip/iptables arguments, so they are
 * checked before anything touches the system. Same messages and codes.
 */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** IFNAMSIZ - 1. */
export const MAX_IFNAME_BYTES = 15;

export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!NAME_RE.test(id)) throw new CniError(ErrorCode.InvalidEnvironment, 'invalid characters in containerID', id);
}

export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  if (!NAME_RE.test(name)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
}

export function validateIfName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      'interface name is too long',
      `interface name should be less than ${MAX_IFNAME_BYTES + 1} characters`,
    );
  }
  if (name === '.' || name === '..') throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is . or ..');
  // Go's unicode.IsSpace: \t \n \v \f \r space U+0085 U+00A0 and the Unicode Z category.
  if (/[/:\t\n\v\f\r \u0085\u00a0\p{Z}]/u.test(name)) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'interface name contains / or : or whitespace characters');
  }
}

/**
 * Why the kernel would refuse NAME as a link name (dev_valid_name plus the
 * netlink length check), as the errno text the reference prints; undefined
 * when it is acceptable. Used to refuse config-supplied link names (bridge,
 * master) before any command runs.
 */
export function linkNameProblem(name: string): string | undefined {
  if (name === '') return 'LinkAttrs.Name cannot be empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES) return 'numerical result out of range';
  if (name === '.' || name === '..' || /[/:\0\t\n\v\f\r ]/.test(name)) return 'invalid argument';
  return undefined;
}
