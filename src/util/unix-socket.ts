import {promises as fs} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {fsReason} from './fs-errors.js';

/** Whether something accepts connections on the unix socket at `socketPath`. */
export function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Make a unix socket path ready to listen on (the daemons': dhcp, service):
 * its directory (0700 when made here), and no live listener or foreign file
 * at the path. A socket nobody accepts on (its process died) is removed; a
 * live one is an error naming `who`, and so is a file that is not a socket.
 */
export async function prepareSocket(socketPath: string, who: string): Promise<void> {
  const dir = path.dirname(socketPath);
  let made: string | undefined;
  try {
    made = await fs.mkdir(dir, {recursive: true, mode: 0o700});
  } catch (err) {
    throw new Error(`cannot make the directory of ${socketPath}: ${fsReason(err)}`);
  }
  if (made !== undefined) await fs.chmod(dir, 0o700);
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
  if (await canConnect(socketPath)) throw new Error(`${who} is already listening on ${socketPath}`);
  await fs.unlink(socketPath);
}

/** Listen on a unix socket path (made ready by prepareSocket) and set its mode. */
export async function listenOn(server: net.Server, socketPath: string, mode: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chmod(socketPath, mode);
}
