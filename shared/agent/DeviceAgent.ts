import { Clock, isoUtc, systemClock } from '../domain/Clock';
import { AgentLog, AgentLogFields, keyFreeLog, silentLog } from './AgentLog';
import { AzureIotHubConnection } from './AzureIotHubConnection';
import { createCertificateRequest } from './CertificateRequest';
import { describeCertificate, summarizeCertificate } from './CertificateSummary';
import { CredentialStore, CredentialStoreCorrupt } from './CredentialStore';
import {
  certifiesKey,
  DeviceCredential,
  hasExpired,
  parseIssuedChain,
  publicKeyOf,
  TlsClientCredential,
} from './DeviceCredential';
import { DpsError, DpsRegistration } from './DpsRegistration';
import { DpsHttpsClient } from './DpsHttpsClient';
import { HubConnection, HubSession } from './HubConnection';
import { DEFAULT_RENEW_AT_FRACTION, renewalDueAt } from './renewalDueAt';
import {
  accepted,
  alreadyRenewing,
  busy,
  malformed,
  MethodAnswer,
  parseRenewalRequest,
} from './RenewalRequest';
import { boundedRetryAfterMs, DEFAULT_RETRY, retryDelayMs, RetryPolicy } from './RetryPolicy';
import { Alarm, systemTimers, Timers } from './Timers';
import {
  certificateReport,
  KeyMaterialInReport,
  RenewalProgress,
  renewalProgressReport,
  TwinStringTooLong,
} from './TwinReport';
import { withBuiltInRoots } from './trustedRoots';
import { certificatePemBlocks, x509 } from './x509';

export interface DeviceAgentOptions {
  /** The DPS registration id: the CN of every certificate the agent asks for. */
  registrationId: string;
  /** The DPS instance's ID scope. */
  idScope: string;
  /** `host` or `host:port` of DPS's device endpoint (global.azure-devices-provisioning.net). */
  dpsHost: string;
  /**
   * PEM CA certificates to trust for DPS's and the hub's TLS certificates, in addition to Node's
   * built-in roots (a stand-in's root in tests, a private gateway's CA).
   */
  caPem?: string;
  /** Where the agent keeps its keys and certificates. */
  stateDirectory: string;
  /** The factory credential DPS knows the device by: first provisioning, and after expiry. */
  onboarding: TlsClientCredential;
  /** Renew by itself at this fraction of the lifetime (default 0.8). */
  renewAtFraction?: number;
  /**
   * Which certificate authenticates a renewal to DPS: always the onboarding one, as Microsoft's
   * certificate management documents (the default), or the current operational one while it
   * is valid, falling back to the onboarding one in the same attempt when DPS refuses it (for
   * a DPS that accepts what it issued).
   */
  dpsCredential?: 'current' | 'onboarding';
  /** `host:port` to reach the hub at instead of its name on 8883 (a stand-in, a gateway). */
  hubEndpoint?: string;
  /** The direct method certfleet invokes (default renewCertificate). */
  methodName?: string;
  retry?: RetryPolicy;
  clock?: Clock;
  timers?: Timers;
  /** A number in [0, 1), for the retries' jitter. */
  random?: () => number;
  log?: AgentLog;
  dps?: DpsRegistration;
  hub?: HubConnection;
}

/** Why a renewal runs. */
export type RenewalTrigger =
  /** First run: no operational certificate yet. */
  | { kind: 'provisioning' }
  /** Its own schedule: `renewAtFraction` of the lifetime. */
  | { kind: 'scheduled' }
  /** The current certificate expired: re-provisioning with the onboarding certificate. */
  | { kind: 'expired' }
  /** certfleet's direct method. */
  | { kind: 'requested'; requestId: string; reason: string };

export interface AgentStatus {
  running: boolean;
  connected: boolean;
  renewing?: RenewalTrigger;
  certificate?: DeviceCredential['leaf'];
  assignedHub?: string;
  deviceId?: string;
  nextRenewalAt?: Date;
  nextRetryAt?: Date;
  renewalFailures: number;
  lastError?: string;
}

export class IssuedCertificateRejected extends Error {
  readonly code = 'issued-certificate-rejected';
}

export class OnboardingCredentialInvalid extends Error {
  readonly code = 'onboarding-credential-invalid';
}

export class ReportUnanswered extends Error {
  readonly code = 'report-unanswered';
}

/**
 * How long a reported patch may wait for IoT Hub's answer (normally milliseconds). The device
 * SDK sends twin requests at QoS 0 and never fails one whose answer was lost with the
 * connection: without a bound, a renewal or a connection would wait on it for good.
 */
export const REPORT_TIMEOUT_MS = 30_000;

/**
 * certfleet's reference device agent. It holds an operational X.509 certificate issued by DPS,
 * connects to IoT Hub with it, reports it in the twin (docs/device-contract.md), renews it on
 * its own schedule and when certfleet asks (the `renewCertificate` direct method), and
 * re-provisions with its onboarding certificate when the operational one has expired.
 *
 * A renewal: a fresh P-384 key and CSR; DPS registration; the new key and chain stored; the hub
 * connection closed and opened again with the new certificate; the new certificate reported;
 * and only then the old key deleted. Until a new certificate is installed the current one stays
 * in use, and a failed renewal is tried again after an exponential, jittered, capped wait.
 */
export class DeviceAgent {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly log: AgentLog;
  private readonly store: CredentialStore;
  private readonly dps: DpsRegistration;
  private readonly hub: HubConnection;
  private readonly retry: RetryPolicy;
  private readonly fraction: number;
  private readonly methodName: string;
  private readonly renewalAlarm: Alarm;
  private readonly retryAlarm: Alarm;
  private readonly reconnectAlarm: Alarm;
  /** The TLS trust for DPS and the hub: Node's built-in roots and `caPem`; the built-in ones alone when absent. */
  private readonly trustedCas?: string;

  private stopped = true;
  private abort = new AbortController();
  private credential?: DeviceCredential;
  private session?: HubSession;
  private connecting?: Promise<void>;
  private renewal?: { trigger: RenewalTrigger; promise: Promise<void> };
  private progress: RenewalProgress | null = null;
  private renewalFailures = 0;
  private connectFailures = 0;
  private lastError?: string;
  private stopping?: Promise<void>;
  /** DPS's `Retry-After` on a 429: no registration starts before this, whoever asks. */
  private throttledUntil?: Date;

  constructor(private readonly options: DeviceAgentOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.log = keyFreeLog(options.log ?? silentLog);
    this.store = new CredentialStore(options.stateDirectory);
    if (options.caPem) this.trustedCas = withBuiltInRoots(options.caPem);
    this.dps =
      options.dps ??
      new DpsHttpsClient({
        dpsHost: options.dpsHost,
        idScope: options.idScope,
        timers: this.timers,
        ...(this.trustedCas ? { caPem: this.trustedCas } : {}),
      });
    this.hub = options.hub ?? new AzureIotHubConnection();
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.fraction = options.renewAtFraction ?? DEFAULT_RENEW_AT_FRACTION;
    this.methodName = options.methodName ?? 'renewCertificate';
    this.renewalAlarm = new Alarm(this.clock, this.timers);
    this.retryAlarm = new Alarm(this.clock, this.timers);
    this.reconnectAlarm = new Alarm(this.clock, this.timers);
  }

  /**
   * Loads the credential from the state directory (or provisions one), connects and reports.
   * Resolves once that first attempt is over, connected or not: failures are retried on their
   * own schedule, and `status()` says where the agent stands.
   */
  async start(): Promise<void> {
    await this.stopping; // a stop under way ends before the agent runs again
    if (!this.stopped) throw new Error('the agent is already running');
    checkOnboarding(this.options.onboarding);
    this.stopped = false;
    this.abort = new AbortController();
    this.info('starting', {
      registrationId: this.options.registrationId,
      dpsHost: this.options.dpsHost,
      stateDirectory: this.options.stateDirectory,
    });
    try {
      this.credential = await this.store.load();
    } catch (error) {
      if (!(error instanceof CredentialStoreCorrupt)) throw error;
      this.warn('state unreadable, provisioning again', { error: error.message });
    }
    const credential = this.credential;
    if (!credential) this.startRenewal({ kind: 'provisioning' });
    else if (hasExpired(credential, this.clock.now())) {
      this.warn('certificate expired', { validUntil: isoUtc(credential.leaf.validUntil) });
      this.startRenewal({ kind: 'expired' });
    } else {
      this.info('certificate loaded', this.certificateFields(credential));
      this.scheduleRenewal();
      void this.startConnecting();
    }
    await this.whenIdle();
  }

  /** Closes the hub connection and clears every timer; abandons a DPS registration under way. */
  async stop(): Promise<void> {
    if (this.stopped) return this.stopping;
    this.stopped = true;
    this.abort.abort();
    this.renewalAlarm.cancel();
    this.retryAlarm.cancel();
    this.reconnectAlarm.cancel();
    const stopping = (async () => {
      await this.whenIdle();
      await this.closeSession();
      this.info('stopped', {});
    })();
    this.stopping = stopping;
    try {
      await stopping;
    } finally {
      if (this.stopping === stopping) this.stopping = undefined;
    }
  }

  /** Resolves when no renewal and no connection attempt is under way. */
  async whenIdle(): Promise<void> {
    for (;;) {
      const work = this.renewal?.promise ?? this.connecting;
      if (!work) return;
      await work;
    }
  }

  status(): AgentStatus {
    const credential = this.credential;
    return {
      running: !this.stopped,
      connected: this.session !== undefined,
      renewalFailures: this.renewalFailures,
      ...(this.renewal ? { renewing: this.renewal.trigger } : {}),
      ...(credential
        ? {
            certificate: credential.leaf,
            assignedHub: credential.assignedHub,
            deviceId: credential.deviceId,
          }
        : {}),
      ...(this.renewalAlarm.at ? { nextRenewalAt: this.renewalAlarm.at } : {}),
      ...(this.retryAlarm.at ? { nextRetryAt: this.retryAlarm.at } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * certfleet's `renewCertificate` (docs/device-contract.md, "Renewal requests"): answered at
   * once; an accepted renewal starts once the answer is sent.
   */
  private answer(payload: unknown): MethodAnswer & { afterAnswer?: () => void } {
    const parsed = parseRenewalRequest(payload);
    if (!parsed.ok) {
      this.warn('renewal request refused', {
        requestId: parsed.requestId,
        problem: parsed.problem,
      });
      return malformed(parsed.problem, parsed.requestId);
    }
    const { requestId, reason } = parsed.request;
    if (this.stopped) return busy(requestId);
    const running = this.renewal?.trigger;
    if (running?.kind === 'requested') {
      // certfleet asked again while the renewal it asked for runs: yes, the certificate is coming.
      this.info('renewal request joined', { requestId, renewing: running.requestId });
      return accepted(requestId);
    }
    if (running) {
      this.info('renewal request refused', { requestId, reason: 'already renewing' });
      return alreadyRenewing(requestId);
    }
    const throttledUntil = this.throttled();
    if (throttledUntil) {
      // DPS said when to come back; certfleet's request does not change that.
      this.info('renewal request refused', {
        requestId,
        reason: 'DPS throttled',
        retryAt: isoUtc(throttledUntil),
      });
      return busy(requestId, throttledUntil);
    }
    this.info('renewal requested', {
      requestId,
      reason,
      deadline: parsed.request.deadline ? isoUtc(parsed.request.deadline) : undefined,
    });
    return {
      ...accepted(requestId),
      afterAnswer: () => this.startRenewal({ kind: 'requested', requestId, reason }),
    };
  }

  private startRenewal(trigger: RenewalTrigger): void {
    if (this.stopped || this.renewal) return;
    const throttledUntil = this.throttled();
    if (throttledUntil) {
      // The pending retry (at or after Retry-After) carries the renewal on.
      this.info('renewal deferred', { trigger: trigger.kind, until: isoUtc(throttledUntil) });
      if (!this.retryAlarm.at) {
        this.retryAlarm.set(throttledUntil, () => this.startRenewal(trigger));
      }
      return;
    }
    this.retryAlarm.cancel();
    const promise = this.renew(trigger).finally(() => {
      this.renewal = undefined;
    });
    this.renewal = { trigger, promise };
  }

  private async renew(trigger: RenewalTrigger): Promise<void> {
    const requestId = trigger.kind === 'requested' ? trigger.requestId : undefined;
    const reason = trigger.kind === 'requested' ? trigger.reason : trigger.kind;
    const startedAt = this.clock.now();
    this.info('renewal started', {
      trigger: trigger.kind,
      requestId,
      attempt: this.renewalFailures + 1,
    });
    await this.reportProgress({
      status: 'renewing',
      ...(requestId ? { requestId } : {}),
      reason,
      at: isoUtc(startedAt),
    });
    let credential: DeviceCredential;
    try {
      credential = await this.obtainCredential();
    } catch (error) {
      if (this.stopped) return;
      this.renewalFailures += 1;
      const retryAfterMs = boundedRetryAfterMs(
        error instanceof DpsError ? (error.details.retryAfterMs ?? 0) : 0,
        this.retry,
      );
      const now = this.clock.now();
      if (error instanceof DpsError && error.kind === 'throttled' && retryAfterMs > 0) {
        // DPS's quota: nothing registers before it allows, not even at certfleet's request.
        this.throttledUntil = new Date(now.getTime() + retryAfterMs);
      }
      const nextAt = new Date(
        now.getTime() + retryDelayMs(this.renewalFailures, this.retry, this.random, retryAfterMs),
      );
      this.lastError = errorText(error);
      this.warn('renewal failed', {
        trigger: trigger.kind,
        requestId,
        failures: this.renewalFailures,
        error: this.lastError,
        nextAttemptAt: isoUtc(nextAt),
      });
      await this.reportProgress({
        status: 'failed',
        ...(requestId ? { requestId } : {}),
        reason,
        at: isoUtc(now),
        error: this.lastError,
        nextAttemptAt: isoUtc(nextAt),
      });
      if (!this.stopped) this.retryAlarm.set(nextAt, () => this.startRenewal(trigger));
      return;
    }
    this.renewalFailures = 0;
    this.lastError = undefined;
    this.throttledUntil = undefined;
    this.progress = null;
    this.credential = credential;
    this.info('certificate installed', this.certificateFields(credential));
    this.scheduleRenewal();
    await this.switchConnection();
  }

  /**
   * Registers with DPS with a fresh key's CSR and stores what DPS issued. DPS authenticates the
   * device by its onboarding certificate, as Azure's certificate management documents renewal
   * ("a new DPS registration, [using] its onboarding credential", Learn, "Certificate renewal
   * in Azure IoT Hub certificate management"); with `dpsCredential: current`, by the current
   * certificate first while it is valid.
   */
  private async obtainCredential(): Promise<DeviceCredential> {
    const registrationId = this.options.registrationId;
    const now = this.clock.now();
    const current = this.credential;
    const useCurrent =
      (this.options.dpsCredential ?? 'onboarding') === 'current' &&
      current !== undefined &&
      !hasExpired(current, now);
    const request = await createCertificateRequest(registrationId);
    const register = (credential: TlsClientCredential) =>
      this.dps.register({ registrationId, csr: request.csr, credential }, this.abort.signal);
    let assignment;
    let authenticatedWith: 'current' | 'onboarding' = useCurrent ? 'current' : 'onboarding';
    try {
      assignment = await register(useCurrent ? current : this.options.onboarding);
    } catch (error) {
      if (!(useCurrent && error instanceof DpsError && error.kind === 'unauthorized')) throw error;
      this.warn('DPS refused the current certificate, registering with the onboarding one', {
        error: error.message,
      });
      authenticatedWith = 'onboarding';
      assignment = await register(this.options.onboarding);
    }
    this.info('registered with DPS', {
      assignedHub: assignment.assignedHub,
      deviceId: assignment.deviceId,
      authenticatedWith,
    });
    const chain = parseIssuedChain(assignment.issuedCertificateChain);
    const leaf = chain[0]!;
    if (!certifiesKey(leaf, request.publicKeySpki)) {
      throw new IssuedCertificateRejected('DPS issued a certificate for another key');
    }
    const summary = await summarizeCertificate(leaf);
    // Registration ids are case-insensitive (AZURE-FACTS.md, "Certificate management and DPS").
    if (summary.commonName?.toLowerCase() !== registrationId.toLowerCase()) {
      throw new IssuedCertificateRejected(
        `DPS issued a certificate whose CN (${summary.commonName ?? 'none'}) is not the registration id`,
      );
    }
    if (hasExpired({ leaf: summary }, now)) {
      throw new IssuedCertificateRejected('DPS issued a certificate that has already expired');
    }
    const installed = await this.store.install(
      {
        privateKeyPem: request.privateKeyPem,
        issuedChain: assignment.issuedCertificateChain,
        assignedHub: assignment.assignedHub,
        deviceId: assignment.deviceId,
      },
      now,
    );
    // Keys older than the one just replaced are of no use: a device that cannot reach its hub
    // through several renewals does not pile them up. The replaced one stays until the new
    // certificate is reported.
    await this.store.removeAllBut(installed.id, ...(current ? [current.id] : []));
    return installed;
  }

  private scheduleRenewal(): void {
    const credential = this.credential;
    if (!credential || this.stopped) return;
    const due = renewalDueAt(credential.leaf, this.fraction);
    this.renewalAlarm.set(due, () => this.startRenewal({ kind: 'scheduled' }));
    this.info('renewal scheduled', { at: isoUtc(due) });
  }

  /** Moves the hub connection to the credential just installed. */
  private async switchConnection(): Promise<void> {
    await this.connecting; // an attempt in flight sees the credential changed and stands down
    await this.closeSession();
    await this.startConnecting();
  }

  private startConnecting(): Promise<void> {
    if (this.stopped || !this.credential) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.reconnectAlarm.cancel();
    const connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
    this.connecting = connecting;
    return connecting;
  }

  private async connect(): Promise<void> {
    const credential = this.credential;
    if (!credential || this.stopped) return;
    if (hasExpired(credential, this.clock.now())) {
      // IoT Hub turns an expired certificate away: re-provision through DPS instead.
      this.warn('certificate expired', { validUntil: isoUtc(credential.leaf.validUntil) });
      await this.closeSession();
      this.startRenewal({ kind: 'expired' });
      return;
    }
    await this.closeSession();
    this.info('connecting', {
      hub: credential.assignedHub,
      deviceId: credential.deviceId,
      endpoint: this.options.hubEndpoint,
    });
    let opened: HubSession | undefined;
    try {
      opened = await this.hub.open(
        {
          hubHostName: credential.assignedHub,
          deviceId: credential.deviceId,
          credential,
          methodName: this.methodName,
          ...(this.trustedCas ? { caPem: this.trustedCas } : {}),
          ...(this.options.hubEndpoint ? { endpoint: this.options.hubEndpoint } : {}),
        },
        {
          onMethod: (payload) => this.answer(payload),
          onDisconnect: (reason) => this.connectionLost(opened, reason),
        },
      );
    } catch (error) {
      this.connectFailed(error);
      return;
    }
    if (this.stopped || this.credential !== credential) {
      await opened.close().catch(() => undefined);
      return;
    }
    this.session = opened;
    this.connectFailures = 0;
    this.info('connected', { hub: credential.assignedHub, deviceId: credential.deviceId });
    try {
      await this.reportCertificate(opened, credential);
    } catch (error) {
      // A drop while the report waited was handled as a lost connection already.
      const stillOurs = this.session === opened;
      if (stillOurs) this.session = undefined;
      await opened.close().catch(() => undefined);
      if (stillOurs && !this.stopped) this.connectFailed(error);
    }
  }

  /**
   * Reports the certificate in the twin; once IoT Hub has it, deletes every older key. A report
   * that IoT Hub could never take (a string over 4 KB) is not sent and not retried: the agent
   * stays connected and says so loudly.
   */
  private async reportCertificate(session: HubSession, credential: DeviceCredential) {
    let patch;
    try {
      patch = certificateReport(credential, this.options.registrationId, {
        previous: session.reported('certificate'),
        renewal: this.progress,
      });
    } catch (error) {
      if (error instanceof TwinStringTooLong || error instanceof KeyMaterialInReport) {
        this.lastError = error.message;
        this.error('certificate not reported', { error: error.message });
        return;
      }
      throw error;
    }
    await this.sendReport(session, patch);
    this.info('certificate reported', { thumbprint: credential.leaf.thumbprint });
    const removed = await this.store.removeAllBut(credential.id);
    if (removed.length > 0) this.info('old keys deleted', { credentials: removed.length });
  }

  private async reportProgress(progress: RenewalProgress): Promise<void> {
    this.progress = progress;
    const session = this.session;
    if (!session) return;
    try {
      await this.sendReport(session, renewalProgressReport(progress));
    } catch (error) {
      if (this.stopped) return;
      this.warn('renewal progress not reported', { error: errorText(error) });
      // A connection that left a patch unanswered is not trusted with the next one.
      if (error instanceof ReportUnanswered) this.connectionLost(session, error.message);
    }
  }

  /**
   * A reported patch, bounded: IoT Hub's answer within REPORT_TIMEOUT_MS, else ReportUnanswered
   * (the caller drops the session and reconnects); `stop()` ends the wait at once.
   */
  private sendReport(session: HubSession, patch: Record<string, unknown>): Promise<void> {
    const signal = this.abort.signal;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.timers.clearTimeout(handle);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = () => settle(() => reject(new Error('the agent stopped')));
      const handle = this.timers.setTimeout(
        () =>
          settle(() =>
            reject(
              new ReportUnanswered(
                `IoT Hub did not answer the reported patch in ${REPORT_TIMEOUT_MS / 1000} s`,
              ),
            ),
          ),
        REPORT_TIMEOUT_MS,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      session.report(patch).then(
        () => settle(resolve),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  /** DPS's Retry-After, while it has not passed. */
  private throttled(): Date | undefined {
    const until = this.throttledUntil;
    return until && this.clock.now().getTime() < until.getTime() ? until : undefined;
  }

  private connectionLost(session: HubSession | undefined, reason: string): void {
    if (this.stopped || session === undefined || this.session !== session) return;
    this.session = undefined;
    this.warn('disconnected', { reason });
    void session.close().catch(() => undefined);
    this.scheduleReconnect();
  }

  private connectFailed(error: unknown): void {
    this.lastError = errorText(error);
    this.warn('connection failed', { error: this.lastError });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.connectFailures += 1;
    const at = new Date(
      this.clock.now().getTime() + retryDelayMs(this.connectFailures, this.retry, this.random),
    );
    this.reconnectAlarm.set(at, () => void this.startConnecting());
    this.info('reconnect scheduled', { at: isoUtc(at), failures: this.connectFailures });
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await session.close().catch(() => undefined);
  }

  private certificateFields(credential: DeviceCredential): AgentLogFields {
    return {
      certificate: describeCertificate(credential.leaf),
      hub: credential.assignedHub,
      deviceId: credential.deviceId,
    };
  }

  private info(event: string, fields: AgentLogFields): void {
    this.log({ level: 'info', event, fields });
  }

  private warn(event: string, fields: AgentLogFields): void {
    this.log({ level: 'warn', event, fields });
  }

  private error(event: string, fields: AgentLogFields): void {
    this.log({ level: 'error', event, fields });
  }
}

/** The onboarding key must be the certificate's: a mismatch would only show as DPS's 401. */
function checkOnboarding(onboarding: TlsClientCredential): void {
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(certificatePemBlocks(onboarding.certificateChainPem)[0] ?? '');
  } catch {
    throw new OnboardingCredentialInvalid('the onboarding certificate is not a PEM certificate');
  }
  let publicKey: Buffer;
  try {
    publicKey = publicKeyOf(onboarding.privateKeyPem);
  } catch {
    throw new OnboardingCredentialInvalid('the onboarding key is not a PEM private key');
  }
  if (!certifiesKey(leaf, publicKey)) {
    throw new OnboardingCredentialInvalid('the onboarding key is not the onboarding certificate’s');
  }
}

/** An error's message, cut short, with anything that looks like key material removed. */
function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/-----BEGIN[\s\S]*?-----END[^-]*-----/g, '[pem]').slice(0, 500);
}
