import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

let root: string | undefined;

/**
 * The installed package's directory (where package.json, bin/, configs/ and
 * dist/ live). Found by walking up from this module, so the answer is the same
 * from the compiled tree (dist/src/util) and from the CLI bundle (dist/),
 * where every module shares one file name.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {name?: string}).name === 'cni-docker') return (root = dir);
    } catch {
      // not here: go up
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cni-docker: package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A path inside the package, e.g. packagePath('configs'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}
