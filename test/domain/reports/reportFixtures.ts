import { CertificateFacts } from '../../../shared/domain/Certificate';
import {
  DeviceRecord,
  HeldCertificate,
  newDeviceRecord,
} from '../../../shared/domain/DeviceRecord';
import { RenewalState } from '../../../shared/domain/renewal/RenewalState';

/**
 * Ledger records for the report tests, on fixed UTC dates: the summary is taken at NOW, a
 * Monday noon; a device by default holds a year-long P-384 certificate from the issuing CA.
 */
export const NOW = '2026-11-23T12:00:00.000Z';
export const ISSUER = 'CN=Contoso Issuing CA, O=Contoso';

let serial = 0;

export function aDevice(
  deviceId: string,
  options: {
    hub?: string;
    certificate?: Partial<CertificateFacts> | null;
    renewal?: RenewalState;
    cohort?: string;
    history?: Partial<HeldCertificate>[];
    lifecycle?: DeviceRecord['lifecycle'];
  } = {},
): DeviceRecord {
  serial += 1;
  const record = newDeviceRecord(options.hub ?? 'contoso-hub', deviceId, NOW);
  if (options.certificate !== null) {
    record.current = {
      source: 'pem',
      validFrom: '2026-06-01T00:00:00.000Z',
      validUntil: '2027-06-01T00:00:00.000Z',
      issuer: ISSUER,
      keyAlgorithm: 'ECDSA P-384',
      keySize: 384,
      signatureAlgorithm: 'ECDSA with SHA-384',
      thumbprintSha256: `${String(serial).padStart(8, '0')}`.padEnd(64, 'A'),
      publicKeySha256: `${String(serial).padStart(8, '0')}`.padEnd(64, 'B'),
      firstSeenAt: '2026-06-01T00:05:00.000Z',
      reportedVersion: 2,
      ...options.certificate,
    };
  }
  if (options.renewal) record.renewal = options.renewal;
  if (options.cohort !== undefined) record.cohort = options.cohort;
  if (options.lifecycle) record.lifecycle = options.lifecycle;
  if (options.history) {
    record.history = options.history.map((h, i) => ({
      validFrom: '2026-01-01T00:00:00.000Z',
      validUntil: '2026-12-31T00:00:00.000Z',
      source: 'reported',
      firstSeenAt: '2026-01-01T00:00:00.000Z',
      reportedVersion: i + 2,
      incarnation: 0,
      ...h,
    }));
  }
  return record;
}
