/**
 * Test-only exec-protocol entry for one built-in plugin:
 *   node dist/test/helpers/run-plugin.js <type>
 * reads CNI_* from the environment and the config from stdin, runs the
 * plugin through src/cni/skel.ts, and writes exactly the result or error JSON.
 * Used to run our host-local side by side with the reference binary.
 */
import {pluginMain} from '../../src/runtime/plugin-main.js';

async function main(): Promise<void> {
  const type = process.argv[2];
  if (!type) {
    process.stderr.write('usage: run-plugin <type>\n');
    process.exit(2);
  }
  await pluginMain(type);
}

void main();
