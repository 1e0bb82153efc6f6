import {chmod, mkdir, rename, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {builtinTypes} from '../plugins/registry.js';
import {packagePath} from '../util/package-root.js';

/**
 * The executables `cni-docker install-plugins` writes: one per built-in type,
 * a node script that imports the compiled plugin entry directly (skipping oclif
 * and a shell, which is the fastest start-up) and runs that plugin.
 */
export function pluginMainPath(): string {
  return packagePath('dist', 'src', 'cni', 'plugin-main.js');
}

export function wrapperScript(type: string, nodePath = process.execPath, mainPath = pluginMainPath()): string {
  return `#!${nodePath}\n// cni-docker ${type} plugin (written by "cni-docker install-plugins")\n`
    + `import(${JSON.stringify(mainPath)}).then((m) => m.pluginMain(${JSON.stringify(type)}));\n`;
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
