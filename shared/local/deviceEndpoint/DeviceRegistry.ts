import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import * as x509 from '@peculiar/x509';
import { AcceptedCredentials, normalizeThumbprint, parseCertificatePem } from './clientCertificate';
import { TwinSection, mergePatch } from './twinPatch';

/**
 * The stand-in hub's identity registry and twins. A device must be registered to connect ("IoT
 * Hub requires you to let it know what devices to expect"), and authenticates as IoT Hub's
 * X.509 devices do (Learn, "Authenticate devices using X.509 CA certificates" and "Tutorial:
 * create and upload certificates for testing"):
 * - "self-signed" (thumbprint authentication): a primary and a secondary thumbprint, SHA-1 or
 *   SHA-256, registered for the device; the stand-in does not check the leaf's subject;
 * - "certificate authority": no thumbprint; the device sends its chain, which must verify to a
 *   CA registered with the hub, and the leaf "must have the Subject Name set to the Device ID
 *   (`CN=deviceId`)", compared case-sensitively as device ids are.
 * DPS assigns devices through `assign`: one issued a certificate from a CSR authenticates
 * through the policy's issuing CA, as IoT Hub with certificate management trusts the issuing CA
 * rather than each leaf, so any certificate it issued for the device connects, whichever
 * issuance the device installed.
 */
export interface DeviceTwin {
  desired: TwinSection;
  desiredVersion: number;
  reported: TwinSection;
  reportedVersion: number;
  /** The whole twin's version (`version` in twin-change events). */
  version: number;
}

export interface RegisteredDevice {
  deviceId: string;
  authentication: 'selfSigned' | 'certificateAuthority';
  /** Primary first, then secondary: at most two, as IoT Hub keeps. */
  thumbprints: string[];
  twin: DeviceTwin;
  /** The last connection-state sequence number given (events' `sequenceNumber`). */
  connectionSequence: bigint;
}

export interface DeviceRegistration {
  /** Self-signed authentication with these thumbprints (primary, secondary); none for CA. */
  thumbprints?: readonly string[];
}

/** How a device DPS assigned authenticates from then on. */
export type DeviceAssignment =
  /** Issued from a CSR: through the issuing CA (PEM) of the policy that issued it. */
  | { issuingCaPem: string }
  /** Registered without a CSR: with the certificate it presented to DPS, by thumbprint. */
  | { thumbprintSha256: string };

/** IoT Hub device ids (AZURE-FACTS.md): up to 128 ASCII alphanumerics and `- : . + % _ # * ? ! ( ) , = @ ; $ '`. */
const DEVICE_ID = /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/;

export class DeviceRegistry {
  private readonly devices = new Map<string, RegisteredDevice>();
  private readonly cas: x509.X509Certificate[] = [];

  register(deviceId: string, registration: DeviceRegistration = {}): RegisteredDevice {
    if (!DEVICE_ID.test(deviceId))
      throw new RangeError(`"${deviceId}" is not an IoT Hub device id`);
    const thumbprints = (registration.thumbprints ?? []).map(normalizeThumbprint);
    if (thumbprints.length > 2) throw new RangeError('IoT Hub keeps two thumbprints a device');
    for (const t of thumbprints) {
      if (!/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(t)) {
        throw new RangeError(`"${t}" is not a SHA-1 or SHA-256 thumbprint`);
      }
    }
    const authentication = thumbprints.length > 0 ? 'selfSigned' : 'certificateAuthority';
    const existing = this.devices.get(deviceId);
    if (existing) {
      // Updated in place: sessions and pending calls hold the same record; the twin stays.
      existing.authentication = authentication;
      existing.thumbprints = thumbprints;
      return existing;
    }
    const device: RegisteredDevice = {
      deviceId,
      authentication,
      thumbprints,
      twin: { desired: {}, desiredVersion: 1, reported: {}, reportedVersion: 1, version: 1 },
      connectionSequence: 0n,
    };
    this.devices.set(deviceId, device);
    return device;
  }

  /**
   * Trusts a CA (root or intermediate, PEM; several in one PEM are each registered). A CA
   * already trusted is not added again: DPS names its issuing CA on every assignment.
   */
  registerCa(pem: string): void {
    const parsed = parseCertificatePem(pem);
    if (parsed.length === 0) throw new RangeError('no certificate in the PEM');
    for (const ca of parsed) {
      if (!this.cas.some((known) => known.equal(ca))) this.cas.push(ca);
    }
  }

  /**
   * DPS assigned the device to this hub; it is created if the hub does not know it yet, as DPS
   * creates it on assignment. Through an issuing CA: the device authenticates through that CA
   * (trusted from now on), so every certificate DPS issued it connects, even after issuances
   * the device never installed. By thumbprint: it becomes the primary and the old primary the
   * secondary, so the device connects with either until it switches.
   */
  assign(deviceId: string, assignment: DeviceAssignment): void {
    if ('issuingCaPem' in assignment) {
      this.register(deviceId);
      this.registerCa(assignment.issuingCaPem);
      return;
    }
    const current = this.devices.get(deviceId);
    const previous = current?.authentication === 'selfSigned' ? current.thumbprints[0] : undefined;
    const thumbprint = normalizeThumbprint(assignment.thumbprintSha256);
    this.register(deviceId, {
      thumbprints: previous && previous !== thumbprint ? [thumbprint, previous] : [thumbprint],
    });
  }

  get(deviceId: string): RegisteredDevice | undefined {
    return this.devices.get(deviceId);
  }

  /** What the device's client certificate must match, and the CN it must carry through a CA. */
  credentialsOf(device: RegisteredDevice): AcceptedCredentials {
    return device.authentication === 'selfSigned'
      ? { thumbprints: device.thumbprints }
      : { cas: this.cas };
  }

  /** Merges an accepted reported patch; the new reported and twin versions. */
  applyReportedPatch(device: RegisteredDevice, patch: TwinSection): DeviceTwin {
    const twin = device.twin;
    twin.reported = mergePatch(twin.reported, patch);
    twin.reportedVersion += 1;
    twin.version += 1;
    return twin;
  }

  /** Merges a desired patch (the service side); the new twin. */
  applyDesiredPatch(device: RegisteredDevice, patch: TwinSection): DeviceTwin {
    const twin = device.twin;
    twin.desired = mergePatch(twin.desired, patch);
    twin.desiredVersion += 1;
    twin.version += 1;
    return twin;
  }

  nextConnectionSequence(device: RegisteredDevice): bigint {
    device.connectionSequence += 1n;
    return device.connectionSequence;
  }
}
