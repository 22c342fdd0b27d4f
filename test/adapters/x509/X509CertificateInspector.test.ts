import 'reflect-metadata'; // before @peculiar/x509 (AZURE-FACTS.md)
import { X509Certificate as NodeX509Certificate, createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { ParsedCertificate, PemInspection } from '../../../shared/domain/CertificateInspection';
import {
  Issuer,
  KeyKind,
  createIssuingCa,
  createRootCa,
  generateKeys,
  issueLeaf,
  privateKeyPem,
  toPem,
} from '../../../shared/local/LocalCa';
import { altered } from '../../support/alteredCertificates';
import { IssuedLeaf, TestPki, aPki } from '../../support/certificates';

const AT = new Date('2026-11-15T00:00:00.000Z');
const ROOT = 'CN=certfleet test root';
const ISSUING_CA = 'CN=certfleet test issuing CA';

function leafOf(inspection: PemInspection): ParsedCertificate {
  if (!inspection.ok) throw new Error(`expected a parsed certificate: ${inspection.reason}`);
  return inspection.leaf;
}

function chainOf(inspection: PemInspection) {
  if (!inspection.ok) throw new Error(`expected a parsed certificate: ${inspection.reason}`);
  return inspection.chain;
}

function colonless(fingerprint: string): string {
  return fingerprint.replace(/:/g, '');
}

/** node:crypto's SHA-256 fingerprint of a certificate, written as certfleet writes thumbprints. */
function sha256Of(certificate: x509.X509Certificate): string {
  return colonless(new NodeX509Certificate(toPem(certificate)).fingerprint256);
}

/** The PKI's issuing CA certificate re-issued over the same key, for another validity. */
async function sameKeyIssuingCa(
  pki: TestPki,
  notBefore: string,
  notAfter: string,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    subject: pki.issuing.certificate.subject,
    issuer: pki.root.certificate.subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    publicKey: pki.issuing.keys.publicKey,
    signingKey: pki.root.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
}

describe('X509CertificateInspector', () => {
  describe.each<[KeyKind, { keyAlgorithm: string; keySize: number; signature: string }]>([
    ['P-384', { keyAlgorithm: 'ECDSA P-384', keySize: 384, signature: 'ECDSA with SHA-384' }],
    ['P-256', { keyAlgorithm: 'ECDSA P-256', keySize: 256, signature: 'ECDSA with SHA-256' }],
    [
      'RSA-2048',
      { keyAlgorithm: 'RSA 2048', keySize: 2048, signature: 'RSASSA-PKCS1-v1_5 with SHA-256' },
    ],
  ])('reading a %s certificate', (kind, expected) => {
    let pki: TestPki;
    let leaf: IssuedLeaf;
    let parsed: ParsedCertificate;

    beforeAll(async () => {
      pki = await aPki(kind);
      leaf = await pki.leaf('dev-1').withKey(kind).validFrom('2026-11-01T00:00:00Z').issue();
      parsed = leafOf(await new X509CertificateInspector(undefined).inspect(leaf.pem, AT));
    });

    it('gives the SHA-1 and SHA-256 thumbprints the certificate was issued with', () => {
      expect(parsed.thumbprintSha1).toBe(leaf.sha1);
      expect(parsed.thumbprintSha256).toBe(leaf.sha256);
    });

    it("agrees with node:crypto's fingerprints, as upper-case hex without separators", () => {
      const node = new NodeX509Certificate(leaf.leafPem);
      expect(parsed.thumbprintSha1).toBe(colonless(node.fingerprint));
      expect(parsed.thumbprintSha256).toBe(colonless(node.fingerprint256));
      expect(parsed.thumbprintSha1).toMatch(/^[0-9A-F]{40}$/);
      expect(parsed.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    });

    it('gives the serial number as upper-case hex without leading zeros', () => {
      expect(parsed.serialNumber).toBe(leaf.serialNumber);
      const nodeSerial = new NodeX509Certificate(leaf.leafPem).serialNumber;
      expect(parsed.serialNumber).toBe(nodeSerial.toUpperCase().replace(/^0+/, ''));
    });

    it('gives subject, issuer and common name', () => {
      expect(parsed.subject).toBe('CN=dev-1');
      expect(parsed.issuer).toBe(ISSUING_CA);
      expect(parsed.commonName).toBe('dev-1');
    });

    it('gives the validity as UTC ISO 8601 with milliseconds', () => {
      expect(parsed.validFrom).toBe('2026-11-01T00:00:00.000Z');
      expect(parsed.validUntil).toBe('2026-12-01T00:00:00.000Z');
    });

    it(`names the key ${expected.keyAlgorithm} of ${expected.keySize} bits and the signature`, () => {
      expect(parsed.keyAlgorithm).toBe(expected.keyAlgorithm);
      expect(parsed.keySize).toBe(expected.keySize);
      expect(parsed.signatureAlgorithm).toBe(expected.signature);
    });

    it('hashes the SubjectPublicKeyInfo into publicKeySha256', () => {
      const spki = new NodeX509Certificate(leaf.leafPem).publicKey.export({
        type: 'spki',
        format: 'der',
      });
      expect(parsed.publicKeySha256).toBe(
        createHash('sha256').update(spki).digest('hex').toUpperCase(),
      );
    });

    it('counts the certificates after the leaf as chainLength', async () => {
      const inspector = new X509CertificateInspector(undefined);
      expect(parsed.chainLength).toBe(1);
      expect(leafOf(await inspector.inspect(leaf.leafPem, AT)).chainLength).toBe(0);
      const withRoot = `${leaf.pem}\n${toPem(pki.root.certificate)}`;
      expect(leafOf(await inspector.inspect(withRoot, AT)).chainLength).toBe(2);
    });

    it('verifies the chain through the issuing CA up to the root in the bundle', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    });
  });

  describe('the public key hash', () => {
    it('is the same for two certificates with the same key (a renewal that kept its key)', async () => {
      const pki = await aPki();
      const keys = await generateKeys('P-384');
      const first = await pki.leaf('dev-1').withKeys(keys).issue();
      const renewed = await pki
        .leaf('dev-1')
        .withKeys(keys)
        .validFrom('2026-11-25T00:00:00Z')
        .issue();
      const inspector = new X509CertificateInspector(undefined);
      const a = leafOf(await inspector.inspect(first.pem, AT));
      const b = leafOf(await inspector.inspect(renewed.pem, AT));
      expect(a.thumbprintSha256).not.toBe(b.thumbprintSha256);
      expect(a.publicKeySha256).toBe(b.publicKeySha256);
    });

    it('differs for two certificates with different keys', async () => {
      const pki = await aPki();
      const first = await pki.leaf('dev-1').issue();
      const rotated = await pki.leaf('dev-1').issue();
      const inspector = new X509CertificateInspector(undefined);
      const a = leafOf(await inspector.inspect(first.pem, AT));
      const b = leafOf(await inspector.inspect(rotated.pem, AT));
      expect(a.publicKeySha256).toMatch(/^[0-9A-F]{64}$/);
      expect(a.publicKeySha256).not.toBe(b.publicKeySha256);
    });
  });

  describe('chain verdicts', () => {
    let pki: TestPki;
    let other: TestPki;
    let leaf: IssuedLeaf;

    beforeAll(async () => {
      pki = await aPki();
      other = await aPki();
      leaf = await pki.leaf('dev-1').issue();
    });

    it('trusts a leaf reported with its issuing CA when the root is in the bundle', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
      expect(inspector.hasTrustBundle).toBe(true);
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    });

    it('trusts a leaf reported alone when the issuing CA is in the bundle', async () => {
      const inspector = new X509CertificateInspector(pki.trustBundlePem);
      expect(chainOf(await inspector.inspect(leaf.leafPem, AT))).toEqual({
        status: 'trusted',
        anchor: ISSUING_CA,
      });
    });

    it('stops at the first certificate of the bundle it reaches, the issuing CA before the root', async () => {
      const inspector = new X509CertificateInspector(pki.trustBundlePem);
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'trusted',
        anchor: ISSUING_CA,
      });
    });

    it('trusts a leaf when the bundle pins only its issuing CA', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.issuing.certificate));
      expect(inspector.hasTrustBundle).toBe(true);
      expect(chainOf(await inspector.inspect(leaf.leafPem, AT))).toEqual({
        status: 'trusted',
        anchor: ISSUING_CA,
      });
    });

    it('trusts a leaf reported with its whole chain, root included', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
      const pem = `${leaf.pem}\n${toPem(pki.root.certificate)}`;
      expect(chainOf(await inspector.inspect(pem, AT))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    });

    it('trusts a chain when the bundle also holds another root of the same name (a rotated root)', async () => {
      // Both PKIs name their root and issuing CA alike; only the keys tell them apart.
      const inspector = new X509CertificateInspector(
        toPem(other.root.certificate, pki.root.certificate),
      );
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    });

    it('trusts a chain through a CA renewed with the same key when its expired copy is also in the bundle', async () => {
      // A CA certificate renewed without a new key verifies the same leaves; during the
      // change-over operators keep both copies in the bundle.
      const expiredCopy = await sameKeyIssuingCa(
        pki,
        '2025-01-01T00:00:00Z',
        '2026-06-01T00:00:00Z',
      );
      const inspector = new X509CertificateInspector(
        toPem(expiredCopy, pki.issuing.certificate, pki.root.certificate),
      );
      expect(chainOf(await inspector.inspect(leaf.leafPem, AT))).toEqual({
        status: 'trusted',
        anchor: ISSUING_CA,
      });
    });

    it('trusts a leaf reported with its renewed issuing CA when the bundle pins the expired copy and the root', async () => {
      const expiredCopy = await sameKeyIssuingCa(
        pki,
        '2025-01-01T00:00:00Z',
        '2026-06-01T00:00:00Z',
      );
      const inspector = new X509CertificateInspector(toPem(expiredCopy, pki.root.certificate));
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    });

    it('does not trust a chain that ends in another root of the same name', async () => {
      const inspector = new X509CertificateInspector(toPem(other.root.certificate));
      expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({
        status: 'untrusted',
        reason: `no known issuer "${ROOT}" verifies "${ISSUING_CA}"`,
      });
    });

    it('does not trust a leaf whose issuer is known by name only, under another key', async () => {
      const inspector = new X509CertificateInspector(other.trustBundlePem);
      const pem = `${leaf.leafPem}\n${toPem(other.issuing.certificate)}`;
      expect(chainOf(await inspector.inspect(pem, AT))).toEqual({
        status: 'untrusted',
        reason: `no known issuer "${ISSUING_CA}" verifies "CN=dev-1"`,
      });
    });

    it('does not trust a leaf reported alone when the bundle holds only the root', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
      expect(chainOf(await inspector.inspect(leaf.leafPem, AT))).toEqual({
        status: 'untrusted',
        reason: `no known issuer "${ISSUING_CA}" verifies "CN=dev-1"`,
      });
    });

    it('does not trust a leaf issued by a certificate that is not a CA', async () => {
      const notACa: Issuer = { certificate: leaf.certificate, keys: leaf.keys, kind: 'P-384' };
      const child = await pki.leaf('dev-2').signedBy(notACa).issue();
      const inspector = new X509CertificateInspector(pki.trustBundlePem);
      expect(chainOf(await inspector.inspect(`${child.pem}\n${leaf.pem}`, AT))).toEqual({
        status: 'untrusted',
        reason: 'issuer "CN=dev-1" is not a CA',
      });
    });

    it('does not trust a leaf whose issuing CA has expired at the given date', async () => {
      const shortLived = await createIssuingCa(pki.root, 'short-lived issuing CA', {
        notBefore: '2026-01-01T00:00:00Z',
        notAfter: '2026-11-10T00:00:00Z',
      });
      const child = await pki
        .leaf('dev-3')
        .signedBy(shortLived)
        .validFrom('2026-11-01T00:00:00Z')
        .issue();
      const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
      expect(chainOf(await inspector.inspect(child.pem, new Date('2026-11-05T00:00:00Z')))).toEqual(
        { status: 'trusted', anchor: ROOT },
      );
      expect(chainOf(await inspector.inspect(child.pem, AT))).toEqual({
        status: 'untrusted',
        reason: 'issuing CA "CN=short-lived issuing CA" is not valid at 2026-11-15T00:00:00.000Z',
      });
    });

    it('does not trust an issuing CA pinned in the bundle once it has expired', async () => {
      const inspector = new X509CertificateInspector(toPem(pki.issuing.certificate));
      expect(
        chainOf(await inspector.inspect(leaf.leafPem, new Date('2031-06-01T00:00:00Z'))),
      ).toEqual({
        status: 'untrusted',
        reason: `issuing CA "${ISSUING_CA}" is not valid at 2031-06-01T00:00:00.000Z`,
      });
    });

    it('does not trust a chain whose root is not valid at the given date', async () => {
      const oldRoot = await createRootCa('retired root', {
        notBefore: '2025-01-01T00:00:00Z',
        notAfter: '2026-06-01T00:00:00Z',
      });
      const issuing = await createIssuingCa(oldRoot, 'issuing CA under the retired root', {
        notBefore: '2025-01-01T00:00:00Z',
        notAfter: '2027-01-01T00:00:00Z',
      });
      const child = await pki.leaf('dev-4').signedBy(issuing).issue();
      const inspector = new X509CertificateInspector(toPem(oldRoot.certificate));
      const verdict = chainOf(await inspector.inspect(child.pem, AT));
      expect(verdict).toMatchObject({ status: 'untrusted' });
      expect(verdict.status === 'untrusted' && verdict.reason).toContain(
        '"CN=retired root" is not valid at 2026-11-15T00:00:00.000Z',
      );
    });

    it('does not trust a self-signed leaf', async () => {
      const keys = await generateKeys('P-384');
      const selfSigned = await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=dev-self',
        notBefore: new Date('2026-11-01T00:00:00Z'),
        notAfter: new Date('2026-12-01T00:00:00Z'),
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams,
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
      });
      const inspector = new X509CertificateInspector(pki.trustBundlePem);
      expect(chainOf(await inspector.inspect(toPem(selfSigned), AT))).toEqual({
        status: 'untrusted',
        reason: 'self-signed "CN=dev-self" is not in the trust bundle',
      });
    });

    it('does not check the chain without a trust bundle', async () => {
      for (const bundle of [undefined, '']) {
        const inspector = new X509CertificateInspector(bundle);
        expect(inspector.hasTrustBundle).toBe(false);
        expect(chainOf(await inspector.inspect(leaf.pem, AT))).toEqual({ status: 'not-checked' });
      }
    });
  });

  describe('what it cannot read', () => {
    const inspector = new X509CertificateInspector(undefined);

    it('answers garbage inside CERTIFICATE armour with a reason', async () => {
      const pem = '-----BEGIN CERTIFICATE-----\nthis is not base64 DER!\n-----END CERTIFICATE-----';
      const inspection = await inspector.inspect(pem, AT);
      expect(inspection).toEqual({ ok: false, reason: expect.any(String) });
      expect(!inspection.ok && inspection.reason).toMatch(/^not a parseable X.509 certificate \(/);
    });

    it('answers valid base64 that is not a certificate with a reason', async () => {
      const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from('hello, world').toString('base64')}\n-----END CERTIFICATE-----`;
      expect(await inspector.inspect(pem, AT)).toMatchObject({ ok: false });
    });

    it('answers a certificate cut off halfway with a reason', async () => {
      const pki = await aPki('P-256');
      const leaf = await pki.leaf('dev-1').withKey('P-256').issue();
      const lines = leaf.leafPem.trim().split('\n');
      const cut = [...lines.slice(0, lines.length / 2), lines[lines.length - 1]].join('\n');
      expect(await inspector.inspect(cut, AT)).toMatchObject({ ok: false });
    });

    it.each([
      ['empty text', ''],
      ['plain text', 'validUntil=2026-12-01'],
      ['an unterminated block', '-----BEGIN CERTIFICATE-----\nMIIB'],
    ])('answers %s with "no CERTIFICATE block"', async (_what, pem) => {
      expect(await inspector.inspect(pem, AT)).toEqual({
        ok: false,
        reason: 'no CERTIFICATE block',
      });
    });

    it('answers a PEM holding only a private key with "no CERTIFICATE block"', async () => {
      const pem = await privateKeyPem(await generateKeys('P-256'));
      expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
      expect(await inspector.inspect(pem, AT)).toEqual({
        ok: false,
        reason: 'no CERTIFICATE block',
      });
    });

    it('refuses more certificates than a device chain holds', async () => {
      const pki = await aPki('P-256');
      const leaf = await pki.leaf('dev-1').withKey('P-256').issue();
      const nine = Array.from({ length: 9 }, () => leaf.leafPem).join('\n');
      expect(await inspector.inspect(nine, AT)).toEqual({
        ok: false,
        reason: '9 certificates, more than 8',
      });
      const eight = Array.from({ length: 8 }, () => leaf.leafPem).join('\n');
      expect(await inspector.inspect(eight, AT)).toMatchObject({ ok: true });
    });

    it('never throws, whatever it is given', async () => {
      const inputs = [
        '',
        '-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----',
        '-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----',
        `-----BEGIN CERTIFICATE-----\n${'A'.repeat(5000)}\n-----END CERTIFICATE-----`,
        '\u0000\uFFFF',
      ];
      const trusting = new X509CertificateInspector((await aPki('P-256')).trustBundlePem);
      for (const pem of inputs) {
        await expect(inspector.inspect(pem, AT)).resolves.toMatchObject({ ok: false });
        await expect(trusting.inspect(pem, AT)).resolves.toMatchObject({ ok: false });
      }
    });
  });
});

describe('X509CertificateInspector: the chain reported apart from the leaf', () => {
  let pki: TestPki;
  let leaf: IssuedLeaf;
  const base64Der = (certificate: x509.X509Certificate) =>
    Buffer.from(certificate.rawData).toString('base64');

  beforeAll(async () => {
    pki = await aPki();
    leaf = await pki.leaf('dev-1').issue();
  });

  it('verifies a leaf PEM with its chain as DPS issued it: base64 DER, leaf first', async () => {
    const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
    const issuedCertificateChain = [
      base64Der(leaf.certificate),
      base64Der(pki.issuing.certificate),
    ];

    const inspection = await inspector.inspect(leaf.leafPem, AT, issuedCertificateChain);

    expect(chainOf(inspection)).toEqual({ status: 'trusted', anchor: ROOT });
    // The leaf repeated at the head of the chain is not counted as its own issuer.
    expect(leafOf(inspection).chainLength).toBe(1);
    expect(leafOf(inspection).thumbprintSha256).toBe(leaf.sha256);
  });

  it('reads chain entries written as PEM, with or without line breaks in the base64', async () => {
    const inspector = new X509CertificateInspector(toPem(pki.root.certificate));
    const wrapped = toPem(pki.issuing.certificate);
    const unwrapped = base64Der(pki.issuing.certificate).replace(/(.{64})/g, '$1\n');

    for (const entry of [wrapped, unwrapped]) {
      expect(chainOf(await inspector.inspect(leaf.leafPem, AT, [entry]))).toEqual({
        status: 'trusted',
        anchor: ROOT,
      });
    }
  });

  it('still reads an older device’s pem of leaf and chain, with the chain array after it', async () => {
    const inspector = new X509CertificateInspector(toPem(pki.root.certificate));

    const inspection = await inspector.inspect(leaf.pem, AT, [base64Der(pki.root.certificate)]);

    expect(chainOf(inspection)).toEqual({ status: 'trusted', anchor: ROOT });
    expect(leafOf(inspection).chainLength).toBe(2);
  });

  it('answers a chain entry that is not a certificate with a reason naming it', async () => {
    const inspector = new X509CertificateInspector(toPem(pki.root.certificate));

    const inspection = await inspector.inspect(leaf.leafPem, AT, [
      base64Der(pki.issuing.certificate),
      'not base64 DER!',
    ]);

    expect(inspection).toEqual({
      ok: false,
      reason: expect.stringMatching(/^chain\[1\] is not a certificate/),
    });
  });

  it('refuses more certificates than a device chain holds, counting both places', async () => {
    const inspector = new X509CertificateInspector(undefined);
    const eight = Array.from({ length: 8 }, () => base64Der(pki.issuing.certificate));

    expect(await inspector.inspect(leaf.leafPem, AT, eight)).toEqual({
      ok: false,
      reason: '9 certificates, more than 8',
    });
  });
});

describe('X509CertificateInspector: what @peculiar/x509 misreads', () => {
  let rsa: TestPki;
  const inspector = new X509CertificateInspector(undefined);

  beforeAll(async () => {
    rsa = await aPki('RSA-2048');
  });

  async function leafWith(options: {
    notBefore?: string;
    notAfter?: string;
    serialNumber?: string;
  }) {
    const keys = await generateKeys('P-256');
    return issueLeaf(rsa.issuing, {
      commonName: 'dev-1',
      publicKey: keys.publicKey,
      notBefore: options.notBefore ?? '2026-11-01T00:00:00Z',
      notAfter: options.notAfter ?? '2026-12-01T00:00:00Z',
      ...(options.serialNumber ? { serialNumber: options.serialNumber } : {}),
    });
  }

  it('reads a GeneralizedTime in the year 0001 as 0001, not 1901 or 1899', async () => {
    // The generator writes years from 2050 as GeneralizedTime: make one, then move it to 0001.
    const leaf = await leafWith({
      notBefore: '2050-01-01T00:00:00Z',
      notAfter: '2050-06-01T00:00:00Z',
    });
    const pem = await altered(leaf, rsa.issuing, [['20500101000000Z', '00010101000000Z']]);

    const parsed = leafOf(await inspector.inspect(pem, AT));

    expect(parsed.validFrom).toBe('0001-01-01T00:00:00.000Z');
    expect(parsed.validUntil).toBe('2050-06-01T00:00:00.000Z');
  });

  it('answers a year-0001 notBefore written as UTCTime "0101000000Z" (day 00) with a reason, not 1899-11-30', async () => {
    // What @peculiar/x509's generator writes for 0001-01-01: UTCTime has no year 0001.
    const leaf = await leafWith({ notBefore: '0001-01-01T00:00:00Z' });

    expect(await inspector.inspect(toPem(leaf), AT)).toEqual({
      ok: false,
      reason: 'certificate could not be read (notBefore "0101000000Z" is not a valid time)',
    });
  });

  it('reads UTCTime years 50-99 as 19xx and 00-49 as 20xx (RFC 5280 4.1.2.5.1)', async () => {
    const leaf = await leafWith({
      notBefore: '1999-12-31T23:59:59Z',
      notAfter: '2049-12-31T23:59:59Z',
    });

    const parsed = leafOf(await inspector.inspect(toPem(leaf), AT));

    expect(parsed.validFrom).toBe('1999-12-31T23:59:59.000Z');
    expect(parsed.validUntil).toBe('2049-12-31T23:59:59.000Z');
  });

  it('answers a time on a day the month does not have with a reason, not a rolled-over date', async () => {
    const leaf = await leafWith({});
    const pem = await altered(leaf, rsa.issuing, [['261101000000Z', '261100000000Z']]);

    expect(await inspector.inspect(pem, AT)).toEqual({
      ok: false,
      reason: 'certificate could not be read (notBefore "261100000000Z" is not a valid time)',
    });
  });

  it('reads a negative serial (FB in two’s complement) as -5, the way a device reports it', async () => {
    const leaf = await leafWith({ serialNumber: '7b' });
    const pem = await altered(leaf, rsa.issuing, [
      [Buffer.from([0x02, 0x01, 0x7b]), Buffer.from([0x02, 0x01, 0xfb])],
    ]);

    expect(leafOf(await inspector.inspect(pem, AT)).serialNumber).toBe('-5');
  });

  it('reads a serial padded with 00 to stay positive as the positive integer', async () => {
    const leaf = await leafWith({ serialNumber: 'fb' });

    expect(leafOf(await inspector.inspect(toPem(leaf), AT)).serialNumber).toBe('FB');
  });
});

describe('X509CertificateInspector: the CAs of the reported chain, for the CA-expiry audit', () => {
  let pki: TestPki;
  let leaf: IssuedLeaf;
  const base64Der = (certificate: x509.X509Certificate) =>
    Buffer.from(certificate.rawData).toString('base64');

  beforeAll(async () => {
    pki = await aPki();
    leaf = await pki.leaf('dev-1').issue();
  });

  it('keeps each CA after the leaf: subject, issuer, expiry and SHA-256 thumbprint', async () => {
    const inspector = new X509CertificateInspector(undefined);
    const withRoot = `${leaf.pem}\n${toPem(pki.root.certificate)}`;

    const parsed = leafOf(await inspector.inspect(withRoot, AT));

    expect(parsed.chainCas).toEqual([
      {
        subject: ISSUING_CA,
        issuer: ROOT,
        validUntil: '2031-01-01T00:00:00.000Z',
        thumbprintSha256: sha256Of(pki.issuing.certificate),
      },
      {
        subject: ROOT,
        issuer: ROOT,
        validUntil: '2036-01-01T00:00:00.000Z',
        thumbprintSha256: sha256Of(pki.root.certificate),
      },
    ]);
    expect(parsed.chainCas?.[0]?.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
  });

  it('reads them from the report’s chain too, leaving out the copy of the leaf DPS puts first', async () => {
    const inspector = new X509CertificateInspector(toPem(pki.root.certificate));

    const parsed = leafOf(
      await inspector.inspect(leaf.leafPem, AT, [
        base64Der(leaf.certificate),
        base64Der(pki.issuing.certificate),
      ]),
    );

    expect(parsed.chainCas?.map((ca) => ca.subject)).toEqual([ISSUING_CA]);
    expect(parsed.chainCas?.[0]?.thumbprintSha256).not.toBe(leaf.sha256);
  });

  it('keeps a CA sent twice once, and leaves out a certificate that is not a CA', async () => {
    const inspector = new X509CertificateInspector(undefined);
    const sibling = await pki.leaf('dev-2').issue();
    const issuingPem = toPem(pki.issuing.certificate);

    const parsed = leafOf(
      await inspector.inspect(leaf.leafPem, AT, [issuingPem, sibling.leafPem, issuingPem]),
    );

    expect(parsed.chainLength).toBe(3);
    expect(parsed.chainCas?.map((ca) => ca.subject)).toEqual([ISSUING_CA]);
  });

  it('keeps none for a leaf sent alone', async () => {
    const inspector = new X509CertificateInspector(undefined);

    expect(leafOf(await inspector.inspect(leaf.leafPem, AT)).chainCas).toEqual([]);
  });

  it('keeps an expired CA the device still sends, with its expiry', async () => {
    const inspector = new X509CertificateInspector(pki.trustBundlePem);
    const expired = await sameKeyIssuingCa(
      pki,
      '2025-01-01T00:00:00.000Z',
      '2026-06-01T00:00:00.000Z',
    );

    const parsed = leafOf(await inspector.inspect(leaf.leafPem, AT, [toPem(expired)]));

    expect(parsed.chainCas).toEqual([
      expect.objectContaining({
        subject: ISSUING_CA,
        validUntil: '2026-06-01T00:00:00.000Z',
        thumbprintSha256: sha256Of(expired),
      }),
    ]);
  });
});

describe('X509CertificateInspector: the trust bundle for the fleet review', () => {
  it('lists each CA of the bundle by subject and expiry, and none without a bundle', async () => {
    const pki = await aPki();

    expect(new X509CertificateInspector(pki.trustBundlePem).trustAnchors()).toEqual([
      {
        subject: 'CN=certfleet test root',
        validUntil: '2036-01-01T00:00:00.000Z',
        thumbprintSha256: sha256Of(pki.root.certificate),
      },
      {
        subject: 'CN=certfleet test issuing CA',
        validUntil: '2031-01-01T00:00:00.000Z',
        thumbprintSha256: sha256Of(pki.issuing.certificate),
      },
    ]);
    expect(new X509CertificateInspector(undefined).trustAnchors()).toEqual([]);
  });
});
