import {Flags} from '@oclif/core';
import {BaseCommand} from '../../src/cli/base-command.js';
import type {ServiceStatus} from '../../src/service/server.js';
import {DEFAULT_SERVICE_LOG} from '../../src/service/control.js';

export default class ServiceStart extends BaseCommand {
  static override summary = 'Start the cni-docker service: attach, detach and list then run in a resident process.';
  static override description = `A command line start of Node costs ~100 ms here; with the service running, \`cni-docker attach\`, \`detach\` and \`list\` (ls) hand their work to it through a small perl client and finish in a fraction of that. Output, exit statuses and the state created are the same; each command runs with the caller's environment and working directory. Anything else, or any command when the service is not running, runs as before.
The socket is root-only (0600 in a 0700 directory). The service exits by itself when cni-docker is rebuilt or upgraded under it. Does nothing when it is already running.`;
  static override examples = ['<%= config.bin %> service start', '<%= config.bin %> service start --log /tmp/cni-docker-service.log'];
  static override flags = {
    socket: Flags.string({description: 'unix socket [default: $CNI_DOCKER_SERVICE_SOCKET or /run/cni-docker/service.sock]'}),
    log: Flags.string({description: 'log file (appended)', default: DEFAULT_SERVICE_LOG}),
  };

  async run(): Promise<ServiceStatus> {
    const {flags} = await this.parse(ServiceStart);
    const {serviceSocket, startServiceProcess} = await import('../../src/service/control.js');
    const {packageRoot} = await import('../../src/util/package-root.js');
    const {status, started} = await startServiceProcess({socketPath: serviceSocket(flags.socket), logFile: flags.log, rootDir: packageRoot()});
    this.log(`cni-docker service ${started ? 'started' : 'already running'} (pid ${status.pid}) on ${status.socket}${started ? `, log ${flags.log}` : ''}`);
    return status;
  }
}
