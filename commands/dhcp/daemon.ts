import {Command} from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import {stateFlags} from '../../src/cli/flags.js';
import {errorText} from '../../src/util/error-text.js';

export default class DhcpDaemon extends Command {
  static override summary = 'Run the DHCP lease daemon for the dhcp IPAM type (foreground).';
  static override description = `Acquires, renews and releases DHCP leases inside container network namespaces on behalf of the dhcp IPAM plugin.
Leases are persisted and resumed after a restart. The dhcp IPAM starts this daemon in the background when it is not running.`;
  static override examples = [
    '<%= config.bin %> dhcp daemon',
    '<%= config.bin %> dhcp daemon --socket /tmp/dhcp.sock --state-dir /tmp/state',
  ];
  static override flags = {
    socket: Flags.string({description: 'unix socket to listen on (default: <state root>/run/cni/dhcp.sock)'}),
    'state-dir': Flags.string({
      description: 'state directory, leases in <dir>/dhcp/leases.json (default: <state root>/var/lib/cni-docker)',
    }),
    ...stateFlags,
    quiet: Flags.boolean({description: 'log only warnings', default: false}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(DhcpDaemon);
    const {startDaemon} = await import('../../src/ipam/dhcp/daemon.js');
    const {STATE_ROOT_ENV, resolveStateRoot, statePaths, timestampLogger} = await import('../../src/deps.js');
    let root: string;
    try {
      root = resolveStateRoot(flags['state-root'] ?? process.env[STATE_ROOT_ENV], process.cwd());
    } catch (err) {
      this.error(errorText(err), {exit: 1});
    }
    const paths = statePaths(root);
    const log = timestampLogger(!flags.quiet);
    const d = await startDaemon({socketPath: flags.socket ?? paths.dhcpSocket, stateDir: flags['state-dir'] ?? paths.stateDir, log});
    await new Promise<void>((resolve) => {
      const stop = (sig: string): void => {
        log.warn(`${sig}: shutting down`);
        void d.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  }
}
