import {Command, Flags} from '@oclif/core';
import type {Logger} from '../../src/cni/plugin.js';

function timestampLogger(): Logger {
  const line = (level: string, m: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${level} ${m}\n`);
  };
  return {debug: (m) => line('debug', m), warn: (m) => line('info', m)};
}

export default class ServiceRun extends Command {
  static override summary = 'Run the cni-docker service in the foreground.';
  static override description = `What \`cni-docker service start\` runs in the background; use it under a process supervisor (systemd, runit).
Stops on SIGTERM or SIGINT after the commands it is running finish.`;
  static override examples = ['<%= config.bin %> service run', '<%= config.bin %> service run --socket /tmp/cni-docker.sock'];
  static override flags = {
    socket: Flags.string({description: 'unix socket to listen on [default: $CNI_DOCKER_SERVICE_SOCKET or /run/cni-docker/service.sock]'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(ServiceRun);
    const {startService} = await import('../../src/service/server.js');
    const {serviceSocket} = await import('../../src/service/control.js');
    const {packageRoot} = await import('../../src/util/package-root.js');
    const log = timestampLogger();
    let svc;
    try {
      if (process.getuid?.() !== 0) throw new Error('the cni-docker service needs root (run it with sudo)');
      svc = await startService({socketPath: serviceSocket(flags.socket), rootDir: packageRoot(), log});
    } catch (err) {
      // One line, in the log's format: `service start` quotes it.
      process.stderr.write(`${new Date().toISOString()} error ${(err as Error).message}\n`);
      process.exit(1);
    }
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void svc.close(sig));
    process.on('SIGHUP', () => undefined);
    await svc.closed;
    log.warn('stopped');
    // Keep-alive sockets and the lock helper would otherwise keep an idle event loop alive.
    process.exit(0);
  }
}
