import { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { withBuiltInRoots } from '../../shared/agent/trustedRoots';
import { certificatePemBlocks } from '../../shared/agent/x509';
import { loopbackServerIdentity } from './support/loopbackTls';

/**
 * A CA given to the agent (`trustedCaFile`) is trusted alongside Node's built-in roots, not
 * instead of them: Node's `ca` option alone would drop every public root, and with them DPS's
 * and IoT Hub's own certificates.
 */
describe('the CAs the agent trusts when given one of its own', () => {
  it('keeps every built-in root and adds the given CA', async () => {
    const { caPem } = await loopbackServerIdentity();
    const trusted = withBuiltInRoots(caPem);
    expect(tls.rootCertificates.length).toBeGreaterThan(50);
    expect(certificatePemBlocks(trusted)).toHaveLength(tls.rootCertificates.length + 1);
    for (const root of tls.rootCertificates) expect(trusted).toContain(root);
    expect(trusted).toContain(caPem.trim());
  });

  it('is a trust store Node accepts: a server under the given CA is verified through it', async () => {
    const identity = await loopbackServerIdentity();
    const server = tls.createServer({ key: identity.keyPem, cert: identity.certificatePem }, (s) =>
      s.end(),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const verdict = (ca: string) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', servername: 'localhost', port, ca }, () => {
          resolve(socket.authorized ? 'authorized' : String(socket.authorizationError));
          socket.destroy();
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
    try {
      expect(await verdict(withBuiltInRoots(identity.caPem))).toBe('authorized');
      // Without the given CA the same server is refused: the test can tell the two apart.
      expect(await verdict(tls.rootCertificates.join('\n'))).not.toBe('authorized');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('finds the certificates in a PEM text', () => {
    expect(certificatePemBlocks('no certificate here')).toHaveLength(0);
    expect(certificatePemBlocks(tls.rootCertificates.slice(0, 3).join('\n'))).toHaveLength(3);
  });
});
