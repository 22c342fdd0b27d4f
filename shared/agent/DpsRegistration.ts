import { TlsClientCredential } from './DeviceCredential';

/**
 * The agent's view of DPS: register with a CSR, authenticated by a certificate, and receive an
 * assignment and an issued chain. `DpsHttpsClient` implements it over DPS's runtime REST API;
 * tests use a hand-written double.
 */
export interface DpsRegistration {
  /** Registers; `signal` abandons the registration (the agent is stopping). */
  register(request: DpsRegistrationRequest, signal?: AbortSignal): Promise<DpsAssignment>;
}

export interface DpsRegistrationRequest {
  registrationId: string;
  /** Base64 DER PKCS#10, no PEM armour. */
  csr: string;
  /** The certificate DPS authenticates the device by (TLS client authentication). */
  credential: TlsClientCredential;
}

export interface DpsAssignment {
  assignedHub: string;
  deviceId: string;
  /** `registrationState.issuedCertificateChain`: base64 DER, leaf first. */
  issuedCertificateChain: string[];
}

export type DpsFailureKind =
  /** 401/403: DPS did not accept the certificate the device authenticated with. */
  | 'unauthorized'
  /** 429: too many requests; `retryAfterMs` says when to come back. */
  | 'throttled'
  /** The registration ended `failed` or `disabled`, or DPS refused the request (4xx). */
  | 'rejected'
  /** 5xx, a network or TLS failure, a timeout, or an answer that is not DPS's. */
  | 'unavailable';

export class DpsError extends Error {
  readonly code = 'dps-error';
  constructor(
    readonly kind: DpsFailureKind,
    message: string,
    readonly details: { status?: number; errorCode?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}
