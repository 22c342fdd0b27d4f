import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';
import { isoUtc } from '../../domain/Clock';
import { normalizeSerial } from '../../domain/Certificate';
import { MethodOutcome, RenewalRequest } from '../../domain/renewal/MethodOutcome';
import { generateKeys, toPem } from '../../local/LocalCa';
import {
  deviceConnected,
  deviceCreated,
  deviceDisconnected,
  twinUpdated,
} from '../../local/iotHubMessages';
import { DeviceProfile, nextReachabilityChange, reachable } from './DeviceProfile';
import { SeededRandom } from './SeededRandom';
import { DpsFailureReason, DpsRegistrationResult } from './StandInDps';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Who started a certificate's issuance. */
export type RenewalInitiator =
  | { by: 'provisioning' }
  /** The device itself: at 80% of the lifetime, or re-provisioning after expiry. */
  | { by: 'device' }
  /** certfleet's direct method, with the request's id and reason. */
  | { by: 'certfleet'; requestId: string; reason: string };

/** A certificate the device held: the truth the ledger and the audit trail are checked against. */
export interface HeldCertificate {
  serialNumber: string;
  thumbprintSha256: string;
  /** SHA-256 of the SubjectPublicKeyInfo, as certfleet computes it. */
  publicKeySha256: string;
  validFrom: number;
  validUntil: number;
  issuedAt: number;
  initiator: RenewalInitiator;
  /** The reported `$version` of the twin report that carried it (0: not reported yet). */
  reportedVersion: number;
  /** When it was reported in the twin. */
  reportedAt?: number;
  /** The certificate it replaced had expired by then (a re-provisioning). */
  afterExpiry: boolean;
}

export type CallAnswer = 'accepted' | 'refused' | 'offline' | 'timeout' | 'not-found';

export interface CallRecord {
  at: number;
  requestId: string;
  reason: string;
  answer: CallAnswer;
  /**
   * What the device was doing when asked, for the summary's account of calls that brought no
   * renewal: a refusal because it was `already-renewing` on its own schedule, or being `busy`;
   * an acceptance while it was still on an earlier request's renewal (`renewing-earlier`).
   */
  note?: 'already-renewing' | 'busy' | 'renewing-earlier';
}

export type RenewalFailureCause = 'device-reset' | DpsFailureReason;

export interface RenewalFailure {
  at: number;
  initiator: RenewalInitiator['by'];
  cause: RenewalFailureCause;
  /** The request certfleet made, when certfleet asked for the renewal that failed. */
  requestId?: string;
}

export interface Expiry {
  serialNumber: string;
  validFrom: number;
  validUntil: number;
}

export type DeviceAction =
  | { kind: 'provision' }
  | { kind: 'connectivity' }
  | { kind: 'self-renewal-due'; serialNumber: string }
  | { kind: 'renew' }
  | { kind: 'expire'; serialNumber: string };

/** What a device needs from the world around it: DPS, a scheduler, and IoT Hub's routes. */
export interface DeviceWorld {
  readonly hub: string;
  register(registrationId: string, csr: string): Promise<DpsRegistrationResult>;
  schedule(at: number, device: SimulatedDevice, action: DeviceAction): void;
  /** An IoT Hub event about this device, routed to Event Hubs, that happened at `at`. */
  emit(at: number, message: RawIotHubMessage): void;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * One simulated device: a real P-384 key pair and a real certificate from the stand-in DPS,
 * and the behaviour of its profile. Asked to renew, it answers as a device answers a direct
 * method; accepted, it generates a new key pair, builds a PKCS#10 CSR whose CN is its
 * registration id, registers with DPS, reconnects with the issued certificate and reports it
 * in its twin. Every change it makes reaches IoT Hub's routes as the event IoT Hub would emit,
 * with reported `$version`s and connection sequence numbers that increase as IoT Hub's do.
 */
export class SimulatedDevice {
  readonly certificates: HeldCertificate[] = [];
  readonly calls: CallRecord[] = [];
  readonly failures: RenewalFailure[] = [];
  readonly expiries: Expiry[] = [];
  private keys?: CryptoKeyPair;
  private created = false;
  private connected = false;
  private reportedVersion = 1;
  private twinVersion = 2;
  private sequence = 0n;
  /** A renewal in progress (accepted or started by itself), until it succeeds or fails. */
  private renewing?: { initiator: RenewalInitiator; scheduled: boolean };
  /** Its own renewal fell due while it was offline: it renews when it connects. */
  private selfRenewalPending = false;
  /** A certificate not reported yet (it got it while it could not connect). */
  private unreported?: { held: HeldCertificate; certificate: Record<string, unknown> };

  constructor(
    readonly profile: DeviceProfile,
    private readonly random: SeededRandom,
  ) {}

  get deviceId(): string {
    return this.profile.deviceId;
  }

  get certificate(): HeldCertificate | undefined {
    return this.certificates[this.certificates.length - 1];
  }

  get provisioned(): boolean {
    return this.certificates.length > 0;
  }

  /** Connected to IoT Hub at `t`: reachable, with a certificate that is valid. */
  online(t: number): boolean {
    const held = this.certificate;
    return !!held && held.validUntil > t && reachable(this.profile, t);
  }

  /** The first action: onboarding through DPS at the provisioning time. */
  start(world: DeviceWorld): void {
    world.schedule(Date.parse(this.profile.provisionAt), this, { kind: 'provision' });
  }

  async act(action: DeviceAction, t: number, world: DeviceWorld): Promise<void> {
    switch (action.kind) {
      case 'provision':
        return this.issue(t, world, { by: 'provisioning' });
      case 'connectivity':
        return this.connectivityChanged(t, world);
      case 'self-renewal-due':
        return this.selfRenewalDue(t, world, action.serialNumber);
      case 'renew':
        return this.renew(t, world);
      case 'expire':
        return this.expire(t, world, action.serialNumber);
    }
  }

  /**
   * certfleet's `renewCertificate` direct method (docs/device-contract.md): answered at once;
   * an accepted renewal runs a minute or so later.
   */
  answer(request: RenewalRequest, t: number, world: DeviceWorld): MethodOutcome {
    const record = (answer: CallAnswer, note?: CallRecord['note']) =>
      this.calls.push({
        at: t,
        requestId: request.requestId,
        reason: request.reason,
        answer,
        ...(note ? { note } : {}),
      });
    if (!this.created) {
      record('not-found');
      return { kind: 'not-found', errorCode: 404001 };
    }
    if (!this.online(t)) {
      record('offline');
      return { kind: 'offline', errorCode: 404103 };
    }
    if (this.random.chance(this.profile.timeoutProbability)) {
      record('timeout');
      return { kind: 'timeout', errorCode: 504101 };
    }
    if (this.renewing) {
      if (this.renewing.initiator.by === 'certfleet') {
        // Asked again while on it: yes, the certificate is coming.
        record('accepted', 'renewing-earlier');
        return { kind: 'accepted', status: 202, payload: { requestId: request.requestId } };
      }
      record('refused', 'already-renewing');
      return { kind: 'refused', status: 409, payload: { reason: 'already renewing' } };
    }
    if (this.random.chance(this.profile.refusalProbability)) {
      record('refused', 'busy');
      return { kind: 'refused', status: 409, payload: { reason: 'busy' } };
    }
    record('accepted');
    this.renewing = {
      initiator: { by: 'certfleet', requestId: request.requestId, reason: request.reason },
      scheduled: true,
    };
    world.schedule(t + Math.round(this.random.between(30, 90)) * SECOND, this, { kind: 'renew' });
    return { kind: 'accepted', status: 202, payload: { requestId: request.requestId } };
  }

  private async renew(t: number, world: DeviceWorld): Promise<void> {
    const renewing = this.renewing;
    if (!renewing) return;
    renewing.scheduled = false;
    if (!reachable(this.profile, t)) return; // no network now: when it is back (connectivity)
    await this.issue(t, world, renewing.initiator);
  }

  /**
   * Registers with DPS with a fresh CSR: at provisioning, for a renewal, or to re-provision
   * after its certificate expired (DPS takes the onboarding credential, so an expired
   * operational certificate does not stop it).
   */
  private async issue(t: number, world: DeviceWorld, initiator: RenewalInitiator): Promise<void> {
    const keys = this.profile.reusesKeyPair && this.keys ? this.keys : await generateKeys('P-384');
    let signer = keys;
    if (
      initiator.by !== 'provisioning' &&
      this.random.chance(this.profile.failMidRenewalProbability)
    ) {
      if (this.random.chance(0.5)) return this.failed(t, world, initiator, 'device-reset');
      // A firmware fault: the CSR is signed with a key from the wrong slot.
      signer = { publicKey: keys.publicKey, privateKey: (await generateKeys('P-384')).privateKey };
    }
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${this.deviceId}`,
      keys: signer,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams,
    });
    const result = await world.register(this.deviceId, Buffer.from(csr.rawData).toString('base64'));
    if (result.status === 'failed') {
      return this.failed(t, world, initiator, result.reason, result.retryAfterSeconds);
    }
    const [leafDer] = result.issuedCertificateChain;
    const leaf = new x509.X509Certificate(Buffer.from(leafDer!, 'base64'));
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    if (!spki.equals(Buffer.from(leaf.publicKey.rawData))) {
      throw new Error(`${this.deviceId}: DPS issued a certificate for another key`);
    }
    const previous = this.certificate;
    this.keys = keys;
    this.renewing = undefined;
    this.selfRenewalPending = false;
    const held: HeldCertificate = {
      serialNumber: normalizeSerial(leaf.serialNumber) ?? leaf.serialNumber.toUpperCase(),
      thumbprintSha256: Buffer.from(await leaf.getThumbprint('SHA-256'))
        .toString('hex')
        .toUpperCase(),
      publicKeySha256: createHash('sha256').update(spki).digest('hex').toUpperCase(),
      validFrom: leaf.notBefore.getTime(),
      validUntil: leaf.notAfter.getTime(),
      issuedAt: t,
      initiator,
      reportedVersion: 0,
      afterExpiry: !!previous && previous.validUntil <= t,
    };
    this.certificates.push(held);

    const origin = (at: number) => ({ hub: world.hub, deviceId: this.deviceId, at: isoUtc(at) });
    if (!this.created) {
      // DPS creates the device in IoT Hub when it assigns it; the cohort tag comes with the
      // enrollment's initial twin.
      this.created = true;
      const created = deviceCreated(origin(t));
      if (this.profile.cohort) {
        (created.body as Record<string, unknown>)['tags'] = { cohort: this.profile.cohort };
      }
      world.emit(t, created);
    }
    // It reconnects with the new certificate, then reports it.
    this.unreported = {
      held,
      certificate: this.report(held, leaf, result.issuedCertificateChain),
    };
    if (this.connected) this.disconnect(t, world);
    if (this.online(t + SECOND)) {
      this.connect(t + SECOND, world);
      this.reportCertificate(t + 2 * SECOND, world);
    }
    world.schedule(held.validUntil, this, { kind: 'expire', serialNumber: held.serialNumber });
    if (this.profile.selfRenewal === 'at80') {
      // By its own clock: a clock ahead renews early, one behind renews late.
      const due =
        held.validFrom + 0.8 * (held.validUntil - held.validFrom) - this.profile.clockOffsetMs;
      world.schedule(Math.max(t + MINUTE, Math.round(due)), this, {
        kind: 'self-renewal-due',
        serialNumber: held.serialNumber,
      });
    }
    if (initiator.by === 'provisioning') this.scheduleConnectivity(t, world);
  }

  /** Reports its certificate in the twin's reported properties, `$version` one up. */
  private reportCertificate(t: number, world: DeviceWorld): void {
    const unreported = this.unreported;
    if (!unreported) return;
    this.unreported = undefined;
    this.reportedVersion += 1;
    this.twinVersion += 1;
    unreported.held.reportedVersion = this.reportedVersion;
    unreported.held.reportedAt = t;
    world.emit(
      t,
      twinUpdated(
        { hub: world.hub, deviceId: this.deviceId, at: isoUtc(t) },
        this.reportedVersion,
        { certificate: unreported.certificate },
        this.twinVersion,
      ),
    );
  }

  /**
   * What it reports under `certificate` (docs/device-contract.md): the leaf alone as `pem`, and
   * the chain as DPS issued it (base64 DER, leaf first), each string within IoT Hub's 4 KB.
   */
  private report(
    held: HeldCertificate,
    leaf: x509.X509Certificate,
    issuedCertificateChain: readonly string[],
  ): Record<string, unknown> {
    // A clock that is off shows in the dates it computes from it.
    const offset = this.profile.clockOffsetMs;
    const dates = {
      validFrom: isoUtc(held.validFrom + offset),
      validUntil: isoUtc(held.validUntil + offset),
    };
    if (this.profile.reportsOnlyDates) return dates;
    return {
      ...dates,
      registrationId: this.deviceId,
      thumbprint: held.thumbprintSha256,
      serialNumber: held.serialNumber,
      pem: toPem(leaf),
      chain: [...issuedCertificateChain],
    };
  }

  private failed(
    t: number,
    world: DeviceWorld,
    initiator: RenewalInitiator,
    cause: RenewalFailureCause,
    retryAfterSeconds?: number,
  ): void {
    this.failures.push({
      at: t,
      initiator: initiator.by,
      cause,
      ...(initiator.by === 'certfleet' ? { requestId: initiator.requestId } : {}),
    });
    if (cause === 'throttled') {
      // Every DPS client retries a 429, after Retry-After and a jitter (Learn, "Troubleshoot DPS").
      const wait = ((retryAfterSeconds ?? 60) + this.random.integer(1, 30)) * SECOND;
      if (initiator.by === 'provisioning') world.schedule(t + wait, this, { kind: 'provision' });
      else {
        this.renewing = { initiator, scheduled: true };
        world.schedule(t + wait, this, { kind: 'renew' });
      }
      return;
    }
    if (initiator.by === 'provisioning') {
      world.schedule(t + 5 * MINUTE, this, { kind: 'provision' });
      return;
    }
    if (initiator.by === 'device') {
      // Its own schedule tries again in an hour.
      this.renewing = { initiator, scheduled: true };
      world.schedule(t + HOUR, this, { kind: 'renew' });
      return;
    }
    // Asked by certfleet: it gives up; certfleet sees no certificate by its deadline.
    this.renewing = undefined;
  }

  private selfRenewalDue(t: number, world: DeviceWorld, serialNumber: string): void {
    if (this.certificate?.serialNumber !== serialNumber || this.renewing) return;
    if (!reachable(this.profile, t)) {
      this.selfRenewalPending = true;
      return;
    }
    this.renewing = { initiator: { by: 'device' }, scheduled: true };
    world.schedule(t, this, { kind: 'renew' });
  }

  private expire(t: number, world: DeviceWorld, serialNumber: string): void {
    const held = this.certificate;
    if (held?.serialNumber !== serialNumber) return;
    this.expiries.push({ serialNumber, validFrom: held.validFrom, validUntil: held.validUntil });
    // IoT Hub no longer lets it in: it drops off and cannot reconnect.
    if (this.connected) this.disconnect(t, world);
    // A device that tracks its certificate re-provisions (its retries, or right away).
    if (this.profile.selfRenewal === 'at80' && !this.renewing) {
      this.renewing = { initiator: { by: 'device' }, scheduled: false };
      if (reachable(this.profile, t)) {
        this.renewing.scheduled = true;
        world.schedule(t + MINUTE, this, { kind: 'renew' });
      }
    }
  }

  /** Its window opens or closes, or a dark period begins or ends. */
  private connectivityChanged(t: number, world: DeviceWorld): void {
    const online = this.online(t);
    if (online && !this.connected) {
      this.connect(t, world);
      this.reportCertificate(t + SECOND, world);
    }
    if (!online && this.connected) this.disconnect(t, world);
    if (reachable(this.profile, t)) {
      if (this.selfRenewalPending && !this.renewing && this.profile.selfRenewal === 'at80') {
        this.selfRenewalPending = false;
        this.renewing = { initiator: { by: 'device' }, scheduled: false };
      }
      if (this.renewing && !this.renewing.scheduled) {
        // A renewal it could not run while offline, or a re-provisioning at boot.
        this.renewing.scheduled = true;
        world.schedule(t + 30 * SECOND, this, { kind: 'renew' });
      }
    }
    this.scheduleConnectivity(t, world);
  }

  private scheduleConnectivity(t: number, world: DeviceWorld): void {
    const next = nextReachabilityChange(this.profile, t);
    if (next !== undefined) world.schedule(next, this, { kind: 'connectivity' });
  }

  private connect(t: number, world: DeviceWorld): void {
    this.connected = true;
    this.sequence += 1n;
    world.emit(
      t,
      deviceConnected({ hub: world.hub, deviceId: this.deviceId, at: isoUtc(t) }, this.sequence),
    );
  }

  private disconnect(t: number, world: DeviceWorld): void {
    this.connected = false;
    this.sequence += 1n;
    world.emit(
      t,
      deviceDisconnected({ hub: world.hub, deviceId: this.deviceId, at: isoUtc(t) }, this.sequence),
    );
  }
}
