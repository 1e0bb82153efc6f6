import {Flags} from '@oclif/core';
import {BaseCommand} from '../../src/cli/base-command.js';
import type {ServiceStatus} from '../../src/service/server.js';

export default class ServiceStatusCommand extends BaseCommand {
  static override summary = 'Whether the cni-docker service is running (exit status 1 when not).';
  static override examples = ['<%= config.bin %> service status', '<%= config.bin %> service status --json'];
  static override flags = {
    socket: Flags.string({description: 'unix socket [default: $CNI_DOCKER_SERVICE_SOCKET or /run/cni-docker/service.sock]'}),
  };

  async run(): Promise<(ServiceStatus & {running: true}) | {running: false; socket: string}> {
    const {flags} = await this.parse(ServiceStatusCommand);
    const {serviceSocket, serviceStatus} = await import('../../src/service/control.js');
    const {packageRoot} = await import('../../src/util/package-root.js');
    const socket = serviceSocket(flags.socket);
    const status = await serviceStatus(socket, packageRoot());
    if (!status) {
      this.log(`cni-docker service is not running (nothing answers on ${socket})`);
      process.exitCode = 1;
      return {running: false, socket};
    }
    this.log(`cni-docker service running (pid ${status.pid}) on ${status.socket} since ${status.startedAt}: ${status.requests} requests served, ${status.inFlight} in progress`);
    return {running: true, ...status};
  }
}
