import { DeviceRegistry } from '../../../shared/local/deviceEndpoint/DeviceRegistry';
import { toPem } from '../../../shared/local/LocalCa';
import { deviceCa } from './deviceIdentities';

/** How DPS's assignments change what the hub accepts from a device. */

const VALID = { notBefore: '2026-02-01T00:00:00Z', notAfter: '2026-04-01T00:00:00Z' };
const THUMBPRINT_1 = 'AA'.repeat(32);
const THUMBPRINT_2 = 'BB'.repeat(32);
const THUMBPRINT_3 = 'CC'.repeat(32);

describe('DeviceRegistry assignments', () => {
  it('authenticates a device assigned through an issuing CA by that CA, trusted once', async () => {
    const registry = new DeviceRegistry();
    const { issuing } = await deviceCa('policy', VALID);
    const pem = toPem(issuing.certificate);
    for (let i = 0; i < 3; i += 1) registry.assign('dev-1', { issuingCaPem: pem });
    registry.assign('dev-2', { issuingCaPem: pem });

    const device = registry.get('dev-1');
    expect(device).toMatchObject({ authentication: 'certificateAuthority', thumbprints: [] });
    const cas = registry.credentialsOf(device!).cas ?? [];
    expect(cas.map((c) => c.subject)).toEqual([issuing.certificate.subject]);
  });

  it('trusts a second policy’s issuing CA alongside the first', async () => {
    const registry = new DeviceRegistry();
    const a = await deviceCa('policy-a', VALID);
    const b = await deviceCa('policy-b', VALID);
    registry.assign('dev-a', { issuingCaPem: toPem(a.issuing.certificate) });
    registry.assign('dev-b', { issuingCaPem: toPem(b.issuing.certificate) });
    registry.registerCa(toPem(a.issuing.certificate));
    const cas = registry.credentialsOf(registry.get('dev-a')!).cas ?? [];
    expect(cas.map((c) => c.subject)).toEqual([
      a.issuing.certificate.subject,
      b.issuing.certificate.subject,
    ]);
  });

  it('keeps the presented certificate’s thumbprint as primary and the previous as secondary', () => {
    const registry = new DeviceRegistry();
    registry.assign('dev-t', { thumbprintSha256: THUMBPRINT_1 });
    registry.assign('dev-t', { thumbprintSha256: THUMBPRINT_2 });
    registry.assign('dev-t', { thumbprintSha256: THUMBPRINT_3 });
    expect(registry.get('dev-t')).toMatchObject({
      authentication: 'selfSigned',
      thumbprints: [THUMBPRINT_3, THUMBPRINT_2],
    });
  });

  it('moves a device from thumbprints to its issuing CA, keeping its twin', async () => {
    const registry = new DeviceRegistry();
    registry.assign('dev-m', { thumbprintSha256: THUMBPRINT_1 });
    const device = registry.get('dev-m')!;
    registry.applyReportedPatch(device, { firmware: '1.0' });
    const { issuing } = await deviceCa('policy-m', VALID);
    registry.assign('dev-m', { issuingCaPem: toPem(issuing.certificate) });
    expect(registry.get('dev-m')).toMatchObject({
      authentication: 'certificateAuthority',
      thumbprints: [],
      twin: { reported: { firmware: '1.0' } },
    });
  });
});
