/**
 * Whether some bytes are a private key, judged by their structure rather than by a label: a
 * label can be wrong, missing or escaped, the structure cannot. Recognised:
 * - DER: PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5958), EncryptedPrivateKeyInfo, SEC1
 *   ECPrivateKey (RFC 5915), PKCS#1 RSAPrivateKey (RFC 8017 A.1.2) and OpenSSL's DSA key, and
 *   PKCS#12 PFX files (RFC 7292), anywhere in the bytes;
 * - an OpenPGP Secret-Key or Secret-Subkey packet (RFC 4880 5.5.3) at the start;
 * - an OpenSSH private key ("openssh-key-v1").
 *
 * Public material has other shapes: a certificate, a CSR and a SubjectPublicKeyInfo start with a
 * SEQUENCE, an RSA public key with the modulus, an OpenPGP public key is packet 6. So a
 * certificate, its chain, a CSR or a public key is never taken for a private key.
 *
 * The secret part must be whole (a key cut short in its armour is still found by its label);
 * what follows it may be cut off.
 */
export function hasPrivateKeyStructure(bytes: Uint8Array): boolean {
  if (isPgpSecretKey(bytes) || includes(bytes, OPENSSH_MAGIC)) return true;
  for (let at = bytes.indexOf(SEQUENCE); at >= 0; at = bytes.indexOf(SEQUENCE, at + 1)) {
    if (isPrivateKeyDer(bytes, at)) return true;
  }
  return false;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const OID = 0x06;

const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
/** 1.2.840.113549.1.5 (PKCS#5 PBES1/PBES2) and 1.2.840.113549.1.12.1 (PKCS#12 PBE). */
const PASSWORD_BASED_ENCRYPTION = [
  Buffer.from('2a864886f70d0105', 'hex'),
  Buffer.from('2a864886f70d010c01', 'hex'),
];
/** 1.2.840.113549.1.7: PKCS#7 content types, which a PFX's authSafe is. */
const PKCS7_CONTENT = Buffer.from('2a864886f70d0107', 'hex');

interface Tlv {
  tag: number;
  /** Where the content starts. */
  start: number;
  /** Where the content ends; past the end of the bytes when they were cut short. */
  end: number;
}

/** One DER element's header at `at`; undefined unless it is a short-tag, definite-length one. */
function readTlv(bytes: Uint8Array, at: number): Tlv | undefined {
  if (at + 2 > bytes.length) return undefined;
  const tag = bytes[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[start + i]!;
    start += octets;
    if (length < 0x80) return undefined; // not DER's shortest form
  }
  return { tag, start, end: start + length };
}

/** The complete elements inside `outer`, in order, up to the first one cut short or broken. */
function children(bytes: Uint8Array, outer: Tlv, max: number): Tlv[] {
  const items: Tlv[] = [];
  const end = Math.min(outer.end, bytes.length);
  let at = outer.start;
  while (at < end && items.length < max) {
    const item = readTlv(bytes, at);
    if (!item || item.end > outer.end) break;
    items.push(item);
    if (item.end > bytes.length) break;
    at = item.end;
  }
  return items;
}

const complete = (bytes: Uint8Array, tlv: Tlv | undefined) =>
  tlv !== undefined && tlv.end <= bytes.length;
const lengthOf = (tlv: Tlv) => tlv.end - tlv.start;
const smallInteger = (bytes: Uint8Array, tlv: Tlv | undefined, values: number[]) =>
  tlv?.tag === INTEGER &&
  lengthOf(tlv) === 1 &&
  complete(bytes, tlv) &&
  values.includes(bytes[tlv.start]!);

function isPrivateKeyDer(bytes: Uint8Array, at: number): boolean {
  const outer = readTlv(bytes, at);
  // Every shape below starts with an INTEGER or a SEQUENCE: most noise stops here.
  if (!outer || outer.tag !== SEQUENCE) return false;
  if (bytes[outer.start] !== INTEGER && bytes[outer.start] !== SEQUENCE) return false;
  const [first, second, third, fourth] = children(bytes, outer, 4);
  if (!first || !second) return false;
  // PKCS#8: version 0|1, AlgorithmIdentifier { OID, ... }, privateKey OCTET STRING.
  if (
    smallInteger(bytes, first, [0, 1]) &&
    algorithmIdentifier(bytes, second) &&
    third?.tag === OCTET_STRING &&
    lengthOf(third) >= 16 &&
    complete(bytes, third)
  )
    return true;
  // EncryptedPrivateKeyInfo: { password-based encryption algorithm, encrypted OCTET STRING }.
  if (
    algorithmIdentifier(bytes, first, PASSWORD_BASED_ENCRYPTION) &&
    second.tag === OCTET_STRING &&
    lengthOf(second) >= 16 &&
    complete(bytes, second)
  )
    return true;
  // SEC1: version 1, privateKey OCTET STRING (a scalar of 160 to 571 bits), [0] params, [1] key.
  if (
    smallInteger(bytes, first, [1]) &&
    second.tag === OCTET_STRING &&
    lengthOf(second) >= 20 &&
    lengthOf(second) <= 72 &&
    complete(bytes, second) &&
    (third === undefined || third.tag === 0xa0 || third.tag === 0xa1)
  )
    return true;
  // RSA (version, n, e, d, ...) and DSA (version, p, q, g, y, x): version 0|1, then at least
  // three integers, the first a big one.
  if (
    smallInteger(bytes, first, [0, 1]) &&
    second.tag === INTEGER &&
    lengthOf(second) >= 32 &&
    third?.tag === INTEGER &&
    fourth?.tag === INTEGER &&
    complete(bytes, fourth)
  )
    return true;
  // PKCS#12: version 3, authSafe ContentInfo { PKCS#7 content type, ... }.
  return smallInteger(bytes, first, [3]) && algorithmIdentifier(bytes, second, [PKCS7_CONTENT]);
}

/** A SEQUENCE that starts with an OID (optionally one of `prefixes`). */
function algorithmIdentifier(bytes: Uint8Array, tlv: Tlv, prefixes?: Buffer[]): boolean {
  if (tlv.tag !== SEQUENCE) return false;
  const oid = readTlv(bytes, tlv.start);
  if (!oid || oid.tag !== OID || oid.end > bytes.length || oid.end > tlv.end) return false;
  if (!prefixes) return lengthOf(oid) > 0;
  const value = bytes.subarray(oid.start, oid.end);
  return prefixes.some((prefix) => startsWith(value, prefix));
}

/**
 * A complete Secret-Key (5) or Secret-Subkey (7) packet, in the old or the new header format,
 * whose public key starts as its algorithm says it must. A header, version and algorithm byte
 * alone are four bytes that noise (a thumbprint read as hex) matches about once in 40,000.
 */
function isPgpSecretKey(bytes: Uint8Array): boolean {
  const header = bytes[0];
  if (header === undefined || !(header & 0x80) || bytes.length < 12) return false;
  let tag: number;
  let body: number;
  let length: number;
  if (header & 0x40) {
    tag = header & 0x3f;
    const first = bytes[1]!;
    if (first < 192) [length, body] = [first, 2];
    else if (first < 224) [length, body] = [((first - 192) << 8) + bytes[2]! + 192, 3];
    else if (first === 255) [length, body] = [readUInt32(bytes, 2), 6];
    else return false;
  } else {
    tag = (header >> 2) & 0x0f;
    const kind = header & 0x03;
    if (kind === 0) [length, body] = [bytes[1]!, 2];
    else if (kind === 1) [length, body] = [(bytes[1]! << 8) | bytes[2]!, 3];
    else if (kind === 2) [length, body] = [readUInt32(bytes, 1), 5];
    else return false;
  }
  const end = body + length;
  if ((tag !== 5 && tag !== 7) || length < MIN_PGP_SECRET_KEY || end > bytes.length) return false;
  const version = bytes[body]!;
  // v3: version, created (4), validity (2), algorithm; v4: version, created (4), algorithm;
  // v5 and v6 add the key material's length (4) after the algorithm.
  const algorithmAt = version === 3 ? body + 7 : version >= 4 && version <= 6 ? body + 5 : -1;
  if (algorithmAt < 0) return false;
  const algorithm = bytes[algorithmAt]!;
  if (version < 5) return pgpPublicKeyStarts(bytes, algorithm, algorithmAt + 1, end);
  const size = PGP_RAW_KEY_SIZES.get(algorithm);
  const materialLength = readUInt32(bytes, algorithmAt + 1);
  return (
    (size === undefined || materialLength === size) &&
    pgpPublicKeyStarts(bytes, algorithm, algorithmAt + 5, end)
  );
}

/** OpenPGP algorithms whose public key starts with an MPI: RSA, Elgamal, DSA. */
const PGP_MPI_ALGORITHMS = new Set([1, 2, 3, 16, 17, 20]);
/** ECDH, ECDSA and legacy EdDSA: a curve OID (1.2... or 1.3...) of a few bytes. */
const PGP_CURVE_ALGORITHMS = new Set([18, 19, 22]);
/** X25519, X448, Ed25519, Ed448 (RFC 9580): raw keys of fixed size. */
const PGP_RAW_KEY_SIZES = new Map([
  [25, 32],
  [26, 56],
  [27, 32],
  [28, 57],
]);
/** The smallest secret key packet: an X25519 key unprotected (6 + 32 + 1 + 32 bytes). */
const MIN_PGP_SECRET_KEY = 64;

function pgpPublicKeyStarts(bytes: Uint8Array, algorithm: number, at: number, end: number) {
  if (PGP_MPI_ALGORITHMS.has(algorithm)) {
    if (at + 2 > end) return false;
    const bits = (bytes[at]! << 8) | bytes[at + 1]!;
    const top = bytes[at + 2];
    // A modulus or prime of 512 bits or more, its bit count exact (no leading zero bits).
    return (
      bits >= 512 &&
      top !== undefined &&
      32 - Math.clz32(top) === ((bits - 1) % 8) + 1 &&
      at + 2 + Math.ceil(bits / 8) <= end
    );
  }
  if (PGP_CURVE_ALGORITHMS.has(algorithm)) {
    const oidLength = bytes[at]!;
    return oidLength >= 5 && oidLength <= 10 && [0x2a, 0x2b].includes(bytes[at + 1]!);
  }
  // A raw key, then the secret part's S2K usage: 0 (unprotected) or 253 to 255.
  const size = PGP_RAW_KEY_SIZES.get(algorithm);
  return size !== undefined && at + size < end && [0, 253, 254, 255].includes(bytes[at + size]!);
}

function readUInt32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

function includes(bytes: Uint8Array, needle: Uint8Array): boolean {
  for (let at = bytes.indexOf(needle[0]!); at >= 0; at = bytes.indexOf(needle[0]!, at + 1)) {
    if (startsWith(bytes.subarray(at), needle)) return true;
  }
  return false;
}
