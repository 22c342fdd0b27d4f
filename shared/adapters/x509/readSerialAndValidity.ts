import { serialFromDerOctets } from '../../domain/Certificate';
import { utcInstant } from '../../domain/Clock';

/**
 * A certificate's serial number and validity, read from its DER ourselves: @peculiar/x509
 * reads a GeneralizedTime in the years 0001-0099 as 1901-1999 (asn1js builds it with Date.UTC),
 * rolls a day the month does not have over into the next month, and drops the sign of a
 * negative serial (its `serialNumber` is the same "FB" for -5 and for 251).
 */
export interface SerialAndValidity {
  /** As `normalizeSerial` writes a reported serial: upper-case hex, `-` for a negative one. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const VERSION = 0xa0; // [0] EXPLICIT
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** Throws an Error saying what is wrong when the DER is not a certificate it can read. */
export function readSerialAndValidity(der: Uint8Array): SerialAndValidity {
  const certificate = element(der, 0, der.length, SEQUENCE, 'certificate');
  const tbs = element(der, certificate.contentStart, certificate.end, SEQUENCE, 'tbsCertificate');
  let at = tbs.contentStart;
  if (der[at] === VERSION) at = element(der, at, tbs.end, VERSION, 'version').end;
  const serial = element(der, at, tbs.end, INTEGER, 'serialNumber');
  const signature = element(der, serial.end, tbs.end, SEQUENCE, 'signature');
  const issuer = element(der, signature.end, tbs.end, SEQUENCE, 'issuer');
  const validity = element(der, issuer.end, tbs.end, SEQUENCE, 'validity');
  const notBefore = element(der, validity.contentStart, validity.end, undefined, 'notBefore');
  const notAfter = element(der, notBefore.end, validity.end, undefined, 'notAfter');

  const serialNumber = serialFromDerOctets(
    Buffer.from(der.subarray(serial.contentStart, serial.end)).toString('hex'),
  );
  if (serialNumber === undefined) throw new Error('serialNumber is empty');
  return {
    serialNumber,
    notBefore: timeOf(der, notBefore, 'notBefore'),
    notAfter: timeOf(der, notAfter, 'notAfter'),
  };
}

interface Element {
  tag: number;
  contentStart: number;
  end: number;
}

function element(
  der: Uint8Array,
  at: number,
  limit: number,
  expectedTag: number | undefined,
  name: string,
): Element {
  const tag = der[at];
  const first = der[at + 1];
  if (tag === undefined || first === undefined || at + 2 > limit) {
    throw new Error(`${name} is missing`);
  }
  if (expectedTag !== undefined && tag !== expectedTag) throw new Error(`${name} is malformed`);
  let length = first;
  let contentStart = at + 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new Error(`${name} has an unsupported length`);
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[at + 2 + i] ?? 0);
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error(`${name} runs past its end`);
  return { tag, contentStart, end };
}

/**
 * RFC 5280 4.1.2.5: UTCTime is YYMMDDHHMMSSZ, its years 50-99 meaning 19xx and 00-49 20xx;
 * GeneralizedTime is YYYYMMDDHHMMSSZ. A missing seconds field or a fraction is read too.
 */
function timeOf(der: Uint8Array, time: Element, name: string): Date {
  const text = Buffer.from(der.subarray(time.contentStart, time.end)).toString('latin1');
  const pattern =
    time.tag === UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/
      : time.tag === GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,9}))?Z$/
        : undefined;
  const match = pattern?.exec(text);
  const instant =
    match &&
    utcInstant({
      year:
        time.tag === UTC_TIME
          ? Number(match[1]) + (Number(match[1]) >= 50 ? 1900 : 2000)
          : Number(match[1]),
      month: Number(match[2]),
      day: Number(match[3]),
      hour: Number(match[4]),
      minute: Number(match[5]),
      second: Number(match[6] ?? 0),
      ms: time.tag === GENERALIZED_TIME ? Math.floor(Number(`0.${match[7] ?? '0'}`) * 1000) : 0,
    });
  if (!instant) throw new Error(`${name} ${JSON.stringify(text.slice(0, 24))} is not a valid time`);
  return instant;
}
