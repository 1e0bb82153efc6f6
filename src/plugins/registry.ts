import type {Plugin, PluginLoader} from '../exec/plugin.js';
import {checkPluginName, execPlugin} from '../exec/invoke.js';

/**
 * Built-in plugin types, loaded lazily so a command only imports the plugin it
 * runs. Each module's `plugin` export implements the Plugin interface.
 */
const loaders: Record<string, () => Promise<{plugin: Plugin}>> = {
  bridge: () => import('./bridge.js'),
  macvlan: () => import('./macvlan.js'),
  'host-local': () => import('../ipam/host-local/index.js'),
  dhcp: () => import('../ipam/dhcp/index.js'),
  overlay: () => import('./overlay.js'),
};

export const builtinTypes = Object.keys(loaders);

export function isBuiltin(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(loaders, type);
}

export async function loadBuiltin(type: string): Promise<Plugin | undefined> {
  if (!isBuiltin(type)) return undefined;
  return (await loaders[type]()).plugin;
}

/**
 * The plugin a type names, as the runtime hands it to plugins and the chain
 * (PluginContext.plugins): a built-in runs in-process with the caller's
 * CmdArgs (stdin byte-identical), any other type is its executable on CNI_PATH.
 */
export const pluginLoader: PluginLoader = {
  async load(type) {
    checkPluginName(type);
    return (await loadBuiltin(type)) ?? execPlugin(type);
  },
};
