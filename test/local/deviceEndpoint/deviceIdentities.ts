import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { Client } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import {
  Issuer,
  createIssuingCa,
  createRootCa,
  generateKeys,
  issueLeaf,
  privateKeyPem,
  thumbprint,
  toPem,
} from '../../../shared/local/LocalCa';

/** A device's X.509 identity: its certificate (and chain) and key, PEM, as firmware holds them. */
export interface DeviceIdentity {
  deviceId: string;
  /** Leaf first, then any intermediates the device sends. */
  certPem: string;
  keyPem: string;
  thumbprintSha256: string;
  keys: webcrypto.CryptoKeyPair;
}

export interface Validity {
  notBefore: string;
  notAfter: string;
}

/** A self-signed device certificate (IoT Hub's "X.509 self-signed" authentication). */
export async function selfSignedDevice(
  deviceId: string,
  validity: Validity,
): Promise<DeviceIdentity> {
  const keys = await generateKeys('P-256');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${deviceId}`,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return {
    deviceId,
    certPem: toPem(certificate),
    keyPem: await privateKeyPem(keys),
    thumbprintSha256: await thumbprint(certificate, 'SHA-256'),
    keys,
  };
}

/** A root and an issuing CA, as a partner CA linked to the hub. */
export async function deviceCa(
  name: string,
  validity: Validity,
): Promise<{ root: Issuer; issuing: Issuer }> {
  const root = await createRootCa(`${name} root`, validity);
  const issuing = await createIssuingCa(root, `${name} issuing`, validity);
  return { root, issuing };
}

/** A device certificate issued by `issuing`, sent with the issuing CA as its chain. */
export async function caSignedDevice(
  deviceId: string,
  issuing: Issuer,
  validity: Validity,
  commonName = deviceId,
): Promise<DeviceIdentity> {
  const keys = await generateKeys('P-384');
  const leaf = await issueLeaf(issuing, { commonName, publicKey: keys.publicKey, ...validity });
  return {
    deviceId,
    certPem: toPem(leaf, issuing.certificate),
    keyPem: await privateKeyPem(keys),
    thumbprintSha256: await thumbprint(leaf, 'SHA-256'),
    keys,
  };
}

/**
 * A device client of Microsoft's Node SDK over MQTT, pointed at a stand-in endpoint: the SDK
 * dials `mqtts://{HostName}`, so a `HostName` with the port reaches a loopback port (and is
 * what the SDK then puts in the username).
 */
export async function sdkClient(
  address: string,
  caPem: string,
  device: Pick<DeviceIdentity, 'deviceId' | 'certPem' | 'keyPem'>,
): Promise<Client> {
  const client = Client.fromConnectionString(
    `HostName=${address};DeviceId=${device.deviceId};x509=true`,
    Mqtt,
  );
  await client.setOptions({ cert: device.certPem, key: device.keyPem, ca: caPem });
  return client;
}
