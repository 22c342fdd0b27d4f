import { Clock, DAY_MS } from '../../../shared/domain/Clock';
import {
  DpsAssignment,
  DpsError,
  DpsRegistration,
  DpsRegistrationRequest,
} from '../../../shared/agent/DpsRegistration';
import { x509 } from '../../../shared/agent/x509';
import { Issuer, issueLeaf } from '../../../shared/local/LocalCa';
import { base64Der, leafThumbprint } from './agentPki';

export interface DpsCall {
  at: Date;
  registrationId: string;
  csr: string;
  /** SHA-256 thumbprint of the certificate the device authenticated with. */
  authenticatedWith: string;
}

/**
 * DPS as the agent sees it: it checks the CSR as DPS does (PKCS#10, signature, CN = registration
 * id) and issues a leaf for its key from a local issuing CA, valid from now for `lifetimeMs`,
 * with the chain leaf first. Failures are scripted: `failNext` queues errors, `accepts` decides
 * which certificates it lets authenticate (a 401 otherwise).
 */
export class FakeDps implements DpsRegistration {
  readonly calls: DpsCall[] = [];
  private readonly failures: DpsError[] = [];
  accepts: (thumbprint: string) => boolean = () => true;
  lifetimeMs = 30 * DAY_MS;
  assignedHub = 'contoso-hub.azure-devices.net';
  deviceId?: string;

  constructor(
    private readonly clock: Clock,
    private readonly issuing: Issuer,
    private readonly timeline: string[] = [],
  ) {}

  private gate?: Promise<void>;

  failNext(...errors: DpsError[]): void {
    this.failures.push(...errors);
  }

  /** Holds every registration after its request until the returned function is called. */
  pause(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async register(request: DpsRegistrationRequest): Promise<DpsAssignment> {
    const authenticatedWith = await leafThumbprint(request.credential.certificateChainPem);
    this.calls.push({
      at: this.clock.now(),
      registrationId: request.registrationId,
      csr: request.csr,
      authenticatedWith,
    });
    this.timeline.push(`dps.register auth=${authenticatedWith.slice(0, 8)}`);
    await this.gate;
    const failure = this.failures.shift();
    if (failure) throw failure;
    if (!this.accepts(authenticatedWith)) {
      throw new DpsError('unauthorized', 'DPS answered 401 (401002): unauthorized', {
        status: 401,
        errorCode: 401002,
      });
    }
    const csr = new x509.Pkcs10CertificateRequest(Buffer.from(request.csr, 'base64'));
    if (!(await csr.verify())) throw new DpsError('rejected', 'CSR signature does not verify');
    const commonName = csr.subjectName.getField('CN')[0];
    if (commonName !== request.registrationId) {
      throw new DpsError('rejected', 'CSR CN is not the registration id');
    }
    const now = this.clock.now();
    const leaf = await issueLeaf(this.issuing, {
      commonName,
      publicKey: await csr.publicKey.export(),
      notBefore: now,
      notAfter: new Date(now.getTime() + this.lifetimeMs),
    });
    return {
      assignedHub: this.assignedHub,
      deviceId: this.deviceId ?? request.registrationId,
      issuedCertificateChain: [base64Der(leaf), base64Der(this.issuing.certificate)],
    };
  }
}
