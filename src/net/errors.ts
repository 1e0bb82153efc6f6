import {CommandError} from '../exec/runner.js';
import {errorText} from '../util/error-text.js';

/**
 * The one place that decides whether a failure means "it is already gone"
 * (DEL paths treat such failures as success) or "it is already there".
 */
const NOT_FOUND_PATTERNS = [
  /cannot find device/i,
  /does not exist/i,
  /no such file or directory/i,
  /no such process/i,
  /no such device/i,
  /cannot assign requested address/i,
  /bad rule \(does a matching rule exist/i,
  /no chain\/target\/match by that name/i,
  /link not found/i,
  /RTNETLINK answers: No such/i,
];

const textOf = (err: unknown): string => (err instanceof CommandError ? `${err.stderr}\n${err.stdout}` : errorText(err));

export function isNotFound(err: unknown): boolean {
  const text = textOf(err);
  return NOT_FOUND_PATTERNS.some((re) => re.test(text));
}

export function isExists(err: unknown): boolean {
  return /file exists|already exists|already assigned/i.test(textOf(err));
}

/** Did nsenter fail because the namespace path does not exist? */
export function isNetnsMissing(err: unknown): boolean {
  return err instanceof CommandError && /nsenter: cannot open .*No such file or directory/i.test(err.stderr);
}

/** The kernel's own words from a failed `ip`/`iptables` call, e.g. "file exists". */
export function errnoText(err: unknown): string {
  if (err instanceof CommandError) {
    const m = /RTNETLINK answers: (.*)/.exec(err.stderr) ?? /Error: (.*)/.exec(err.stderr);
    if (m) return m[1].trim().replace(/\.$/, '').toLowerCase();
    return err.detail;
  }
  return errorText(err);
}
