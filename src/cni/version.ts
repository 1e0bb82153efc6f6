import {CniError, ErrorCode} from './errors.js';

/** The CNI spec versions our plugins and runtime speak (reference 1.1.1 list plus 1.1.0). */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The version our library implements; echoed in the VERSION reply. */
export const CURRENT_VERSION = '1.1.0';

/** The VERSION reply: compact JSON plus a newline, like the reference's json.Encoder. */
export function versionReply(): string {
  return `${JSON.stringify({cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS})}\n`;
}

export function isSupported(version: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** `["0.1.0" "0.2.0" …]`, Go's %q of a string slice. */
export function goQuotedList(list: readonly string[]): string {
  return `[${list.map((v) => JSON.stringify(v)).join(' ')}]`;
}

function atoi(part: string, which: string): number {
  if (!/^[+-]?\d+$/.test(part)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to convert ${which} version part ${JSON.stringify(part)}: strconv.Atoi: parsing ${JSON.stringify(part)}: invalid syntax`,
    );
  }
  return Number(part);
}

/** Go's version.ParseVersion: "" means 0.1.0; up to three numeric parts. Throws code 6. */
export function parseVersion(version: string): [number, number, number] {
  if (version === '') return [0, 1, 0];
  const parts = version.split('.');
  if (parts.length >= 4) throw new CniError(ErrorCode.DecodingFailure, `invalid version ${JSON.stringify(version)}: too many parts`);
  const major = atoi(parts[0], 'major');
  const minor = parts.length >= 2 ? atoi(parts[1], 'minor') : 0;
  const micro = parts.length >= 3 ? atoi(parts[2], 'micro') : 0;
  return [major, minor, micro];
}

/** a >= b by semver parts; throws code 6 for an unparsable version. */
export function versionGte(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return true;
}

/** Compare for sorting (unparsable versions throw). */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  return versionGte(a, b) ? (versionGte(b, a) ? 0 : 1) : -1;
}

/** The skel's gate: the config version must be in our list exactly (code 1 otherwise). */
export function checkVersionSupported(configVersion: string): void {
  if (!isSupported(configVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is ${JSON.stringify(configVersion)}, plugin supports ${goQuotedList(SUPPORTED_VERSIONS)}`,
    );
  }
}
