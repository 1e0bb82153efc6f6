/**
 * One attach or detach in its own process, with temp state paths (THD_PATHS,
 * JSON StatePaths), so tests can start many at once or kill one with -9
 * (CNI_DOCKER_CRASH_AFTER). Usage: node attach-worker.js attach|detach CONF NETNS
 */
import {makeDeps} from '../../../src/deps.js';
import {attach} from '../../../src/runtime/attach.js';
import {detach} from '../../../src/runtime/detach.js';

const [verb, conf, netns] = process.argv.slice(2);
const deps = makeDeps({paths: JSON.parse(process.env.THD_PATHS ?? '{}')});
try {
  const out =
    verb === 'attach'
      ? await attach(deps, {containers: [], netns: [netns], conf, ifname: 'eth1'})
      : await detach(deps, {containers: [], netns: [netns], conf});
  process.stdout.write(JSON.stringify(out));
  process.exit(out.failures.length > 0 ? 1 : 0);
} catch (err) {
  process.stdout.write(JSON.stringify({error: err instanceof Error ? err.message : String(err)}));
  process.exit(2);
}
