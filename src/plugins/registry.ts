import type {Plugin} from '../cni/plugin.js';

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
