import {chmod, mkdir, rename, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {builtinTypes} from '../plugins/registry.js';

/**
 * The executables `cni-docker install-plugins` writes: one per built-in type,
 * a node script that imports the compiled plugin entry directly (skipping oclif
 * and a shell, which is the fastest start-up) and runs that plugin.
 */
export function pluginMainPath(): string {
  // dist/src/runtime/install-plugins.js -> dist/src/cni/plugin-main.js
  return fileURLToPath(new URL('../cni/plugin-main.js', import.meta.url));
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
