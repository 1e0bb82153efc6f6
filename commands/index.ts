import Attach from './attach.js';
import Check from './check.js';
import Detach from './detach.js';
import DhcpDaemon from './dhcp/daemon.js';
import Doctor from './doctor.js';
import Gc from './gc.js';
import InstallPlugins from './install-plugins.js';
import List from './list.js';
import Networks from './networks.js';
import OverlayInit from './overlay/init.js';
import OverlayStatus from './overlay/status.js';
import OverlaySync from './overlay/sync.js';
import Plugin from './plugin.js';
import Sandbox from './sandbox.js';
import Watch from './watch.js';

/**
 * Every command by id, for oclif's explicit command discovery (package.json
 * `oclif.commands`): oclif reads this map from the CLI bundle instead of
 * globbing and importing a directory of files. A command file does its heavy
 * imports inside run(), so loading the map stays cheap.
 */
export const COMMANDS = {
  attach: Attach,
  check: Check,
  detach: Detach,
  'dhcp:daemon': DhcpDaemon,
  doctor: Doctor,
  gc: Gc,
  'install-plugins': InstallPlugins,
  list: List,
  networks: Networks,
  'overlay:init': OverlayInit,
  'overlay:status': OverlayStatus,
  'overlay:sync': OverlaySync,
  plugin: Plugin,
  sandbox: Sandbox,
  watch: Watch,
};
