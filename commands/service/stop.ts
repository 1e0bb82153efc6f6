import {Flags} from '@oclif/core';
import {BaseCommand} from '../../src/cli/base-command.js';

export default class ServiceStop extends BaseCommand {
  static override summary = 'Stop the cni-docker service (after the commands it is running finish).';
  static override examples = ['<%= config.bin %> service stop'];
  static override flags = {
    socket: Flags.string({description: 'unix socket [default: $CNI_DOCKER_SERVICE_SOCKET or /run/cni-docker/service.sock]'}),
  };

  async run(): Promise<{stopped: boolean; pid?: number}> {
    const {flags} = await this.parse(ServiceStop);
    const {serviceSocket, stopServiceProcess} = await import('../../src/service/control.js');
    const {packageRoot} = await import('../../src/util/package-root.js');
    const socket = serviceSocket(flags.socket);
    const status = await stopServiceProcess({socketPath: socket, rootDir: packageRoot()});
    this.log(status ? `cni-docker service stopped (pid ${status.pid})` : `cni-docker service is not running (nothing answers on ${socket})`);
    return status ? {stopped: true, pid: status.pid} : {stopped: false};
  }
}
