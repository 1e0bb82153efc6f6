import {errorText} from './error-text.js';

/** The words cni-docker uses for file-system errors (user-facing messages). */
export const ERRNO_REASON: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOENT: 'no such file or directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * A file-system error in a few words, for a message that names the path
 * itself: ERRNO_REASON's words, else Node's without the code and the syscall
 * ("file already exists" from "EEXIST: file already exists, mkdir '/x'").
 */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && ERRNO_REASON[code]) return ERRNO_REASON[code];
  const msg = errorText(err);
  return msg.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/s, '');
}
