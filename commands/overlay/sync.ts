import * as Flags from '@oclif/core/flags';
import {BaseCommand} from '../../src/cli/base-command.js';
import {networkFlags, stateFlags} from '../../src/cli/flags.js';
import {makeDeps} from '../../src/deps.js';
import type {OverlaySyncReport} from '../../src/runtime/overlay/sync.js';

export default class OverlaySyncCommand extends BaseCommand {
  static override summary = "Take or renew this host's lease and program the vxlan device and its peers (--follow: keep doing it)";

  static override description =
    "Takes this host's subnet lease in etcd (found again by its public IP) or renews it, makes the vxlan device flannel.<VNI>, " +
    'and programs a route, a neighbour and an FDB entry for every other lease, removing those of leases that are gone. ' +
    'With --follow it keeps doing so from an etcd watch, renews the lease before it runs out, and stops on SIGTERM or SIGINT ' +
    '(`cni-docker watch` does the same for every overlay network in the conf dir).';

  static override examples = [
    '<%= config.bin %> <%= command.id %> --net mesh',
    '<%= config.bin %> <%= command.id %> --conf /etc/cni/net.d/mesh.conf --follow',
  ];

  static override flags = {
    ...networkFlags,
    ...stateFlags,
    follow: Flags.boolean({description: 'keep the peers in step with etcd until stopped'}),
  };

  async run(): Promise<OverlaySyncReport | void> {
    const {flags} = await this.parse(OverlaySyncCommand);
    const {resolveOverlay} = await import('../../src/runtime/overlay/network.js');
    const o = await import('../../src/runtime/overlay/sync.js');
    const deps = makeDeps({confDir: flags['conf-dir'], stateRoot: flags['state-root']});
    const net = await resolveOverlay({conf: flags.conf, net: flags.net}, deps.confDir, deps.cwd);
    const json = this.jsonEnabled();
    const render = await import('../../src/cli/render-overlay.js');
    if (!flags.follow) {
      const r = await o.overlaySync(deps, net);
      this.print(render.overlaySyncLines(r, json));
      return r;
    }
    const ac = new AbortController();
    const stop = (sig: string): void => {
      process.stderr.write(`${sig}: stopping\n`);
      ac.abort();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // --follow never returns a result: under --json, stdout carries one JSON line per event and stderr
    // the log lines, written directly (oclif's log() and logToStderr() are silent under --json).
    const line =
      (stream: NodeJS.WriteStream) =>
      (l: string): void =>
        void stream.write(`${l}\n`);
    await o.followOverlay(deps, net, {
      signal: ac.signal,
      report: render.followReport({out: line(process.stdout), err: line(process.stderr)}, json),
    });
  }
}
