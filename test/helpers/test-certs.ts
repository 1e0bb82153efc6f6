/**
 * A throw-away CA, a server certificate for the given IP addresses and a
 * client certificate, made with openssl for TLS tests.
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** CN=root: etcdctl acts as root with it (over gRPC, a client certificate's CN is its user). */
  clientCert: string;
  clientKey: string;
  /** No CN: the JSON gateway refuses a certificate with a CN once auth is enabled, so password clients use this one. */
  anonCert: string;
  anonKey: string;
  cleanup(): void;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']});
  } catch (err) {
    const e = err as Error & {code?: string; stderr?: Buffer};
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: run `sudo bin/setup` on this machine');
    throw new Error(`openssl ${args[0]}: ${e.stderr?.toString().trim() ?? e.message}`);
  }
}

export function makeTestCerts(serverIPs: string[]): TestCerts {
  const dir = mkdtempSync('/tmp/ov-certs-');
  const p = (f: string) => join(dir, f);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...key, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=ov-test-ca']);
  writeFileSync(p('server.ext'), `subjectAltName=${serverIPs.map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  writeFileSync(p('anon.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [
    ['server', '/CN=ov-etcd'],
    ['client', '/CN=root'],
    ['anon', '/O=ov-test'],
  ]) {
    openssl(['req', ...key, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject]);
    openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    ]);
  }
  return {
    dir,
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    anonCert: p('anon.crt'),
    anonKey: p('anon.key'),
    cleanup: () => rmSync(dir, {recursive: true, force: true}),
  };
}
