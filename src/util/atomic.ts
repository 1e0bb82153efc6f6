import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {mkdir, rename, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {randomBytes} from 'node:crypto';

/**
 * Write a file so that a reader sees either the old or the new content, never
 * half of it: write a temp file beside it, then rename over the target.
 * Temp files are named `<file>.tmp-<hex>` so listings can skip them.
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o600, dirMode = 0o700): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true, mode: dirMode});
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, {mode});
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, {force: true});
    throw err;
  }
}

/** writeFileAtomic for a caller that must not wait on the thread pool (inside a lock every caller waits for). */
export function writeFileAtomicSync(file: string, data: string, mode = 0o600, dirMode = 0o700): void {
  mkdirSync(path.dirname(file), {recursive: true, mode: dirMode});
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, data, {mode});
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, {force: true});
    throw err;
  }
}

export function isTempFile(name: string): boolean {
  return name.includes('.tmp-');
}
