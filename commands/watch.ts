import {BaseCommand} from '../src/cli/base-command.js';
import * as Flags from '@oclif/core/flags';
import {makeDeps} from '../src/deps.js';
import {stateFlags} from '../src/cli/flags.js';
import {watchReport} from '../src/cli/render-outcome.js';

export default class Watch extends BaseCommand {
  static override summary = "Follow Docker's events: release on destroy, re-attach persistent networks on start (foreground).";

  static override description =
    'A foreground service (see configs/cni-docker-watch.service). On start of a container, every persistent attachment ' +
    '(attach --persist, or a network named in the label cni-docker.networks=net1,net2) is attached in its new namespace with ' +
    'the same address and MAC; on die, non-persistent attachments are released; on destroy, everything is released. ' +
    'It reconciles once at start (and after every reconnection to dockerd) and reconnects with backoff when dockerd restarts. ' +
    'Every overlay network in the conf dir is kept in step as `overlay sync --follow` keeps it (peers from an etcd watch, the lease renewed). ' +
    'Only one watch runs at a time (lock <state dir>/watch.lock).';

  static override examples = [
    {description: 'Run in the foreground', command: '<%= config.bin %> <%= command.id %>'},
    {
      description: 'A container networked with no command',
      command: 'docker run -d --label cni-docker.networks=mybridge busybox sleep 3600',
    },
  ];

  static override flags = {
    'conf-dir': Flags.string({
      description: 'conf dir, for labelled containers and overlay networks (default: $NETCONFPATH or /etc/cni/net.d)',
    }),
    ...stateFlags,
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Watch);
    const {watch} = await import('../src/runtime/watch/service.js');
    const ac = new AbortController();
    const stop = (sig: string): void => {
      process.stderr.write(`${sig}: stopping\n`);
      ac.abort();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // watch never returns a result: under --json, stdout carries one JSON line per action and stderr
    // the log lines, written directly (oclif's log() and logToStderr() are silent under --json).
    const line =
      (stream: NodeJS.WriteStream) =>
      (l: string): void =>
        void stream.write(`${l}\n`);
    await watch(makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']}), {
      signal: ac.signal,
      report: watchReport({out: line(process.stdout), err: line(process.stderr)}, this.jsonEnabled()),
    });
  }
}
