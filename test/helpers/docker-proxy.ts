import net from 'node:net';

/**
 * A cuttable unix-socket proxy in front of /var/run/docker.sock: point
 * DOCKER_HOST at `unix://<path>` and `cut()` it to make Docker unreachable
 * (as a dockerd restart does) without disturbing the shared engine.
 */
export class DockerProxy {
  private server?: net.Server;
  private readonly conns = new Set<net.Socket>();
  constructor(readonly path: string) {}

  get dockerHost(): string {
    return `unix://${this.path}`;
  }

  async open(): Promise<void> {
    this.server = net.createServer((c) => {
      const up = net.connect('/var/run/docker.sock');
      this.conns.add(c).add(up);
      c.pipe(up).pipe(c);
      const end = (): void => {
        c.destroy();
        up.destroy();
      };
      c.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => this.server!.listen(this.path, r));
  }

  /** Drop every connection and stop listening (the socket file goes away). */
  async cut(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}
