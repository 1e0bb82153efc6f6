import {closeSync, openSync, readSync} from 'node:fs';

/**
 * n random bytes from the kernel (/dev/urandom, the source node:crypto's
 * randomBytes also draws on). For names (veth, temp files, MACs) on the hot
 * path, where loading node:crypto would cost ~9 ms of start-up.
 */
export function randomBytesSync(n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < n; ) {
      const r = readSync(fd, b, got, n - got, null);
      if (r <= 0) throw new Error('/dev/urandom: short read');
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return b;
}

export function randomHex(n: number): string {
  return randomBytesSync(n).toString('hex');
}
