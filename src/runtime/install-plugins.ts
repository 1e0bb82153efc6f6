import {chmod, mkdir, rename, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {builtinTypes} from '../plugins/registry.js';
import {packagePath} from '../util/package-root.js';

/**
 * The executables `cni-docker install-plugins` writes: one per built-in type,
 * each `cni-docker plugin <type>` through the CLI's own entry (the bundle and
 * its code cache), so a runtime calling the plugin starts what the CLI starts.
 */
export function entryPath(): string {
  return packagePath('bin', 'run.cjs');
}

export function wrapperScript(type: string, nodePath = process.execPath, entry = entryPath()): string {
  return (
    `#!${nodePath}\n// cni-docker ${type} plugin (written by "cni-docker install-plugins"): cni-docker plugin ${type}\n` +
    `process.argv.splice(2, 0, 'plugin', ${JSON.stringify(type)});\nimport(${JSON.stringify(entry)});\n`
  );
}

export async function installPlugins(dir: string, types: readonly string[] = builtinTypes): Promise<string[]> {
  const abs = path.resolve(dir);
  await mkdir(abs, {recursive: true});
  const written: string[] = [];
  for (const type of types) {
    const file = path.join(abs, type);
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, wrapperScript(type), {mode: 0o755});
    await chmod(tmp, 0o755);
    await rename(tmp, file);
    written.push(file);
  }
  return written;
}
