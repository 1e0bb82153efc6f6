/**
 * The DHCP lease table on disk: `<stateDir>/dhcp/leases.json`, written
 * atomically (temp file + fsync + rename). Besides held leases it remembers
 * the last address of each released client id, so that a re-attach of the same
 * container asks the server for the same address (option 50).
 */
import {promises as fs} from 'node:fs';
import path from 'node:path';
import type {Lease} from './lease.js';

export interface LeaseFile {
  version: 1;
  leases: Record<string, Lease>;
  /** client id → last address held. */
  remembered: Record<string, string>;
}

export function leaseFilePath(stateDir: string): string {
  return path.join(stateDir, 'dhcp', 'leases.json');
}

export class LeaseStore {
  constructor(readonly file: string) {}

  async load(): Promise<LeaseFile> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, leases: {}, remembered: {}};
      throw err;
    }
    const parsed = JSON.parse(text) as Partial<LeaseFile>;
    return {version: 1, leases: parsed.leases ?? {}, remembered: parsed.remembered ?? {}};
  }

  async save(data: LeaseFile): Promise<void> {
    await fs.mkdir(path.dirname(this.file), {recursive: true, mode: 0o700});
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await fs.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, this.file);
  }
}
