import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { Clock, isoUtc, systemClock } from '../../domain/Clock';
import { DpsRegistrationResult, StandInDps } from '../../simulation/fleet/StandInDps';
import { parseJson, readBody } from '../StandInHubProtocol';
import {
  AcceptedCredentials,
  checkClientCertificate,
  normalizeThumbprint,
  parseCertificatePem,
  presentedCertificateOf,
} from './clientCertificate';
import type { DeviceAssignment } from './DeviceRegistry';
import { LoopbackTlsIdentity, createLoopbackTlsIdentity } from './LoopbackTlsIdentity';

/** The one runtime API version served: registration with a CSR (AZURE-FACTS.md). */
export const DPS_API_VERSION = '2025-07-01-preview';

/** Where assigned devices connect (StandInDeviceEndpoint), told how each authenticates. */
export interface AssignedHub {
  /** `localhost:{port}`: the default `assignedHub`, which a device can dial as it is. */
  readonly address: string;
  /**
   * The device is assigned: through the issuing CA of the policy that issued its certificate
   * (a CSR), or by the thumbprint of the certificate it presented (no CSR).
   */
  assignDevice(deviceId: string, assignment: DeviceAssignment): void;
}

/** An onboarding credential: the leaf's thumbprint, or a CA its chain must reach. */
export type Enrollment = { thumbprint: string } | { caPem: string };

export interface StandInDpsServiceOptions {
  /** The issuer: its CSR checks, quota, outages and CA hierarchy (StandInDps). */
  dps: StandInDps;
  /** DPS's ID scope, the first segment of every path. */
  idScope: string;
  /** The hub devices are assigned to, told how each authenticates. */
  hub?: AssignedHub;
  /**
   * Whether an unexpired operational certificate this DPS issued also authenticates a call
   * (a renewal presenting the current certificate). Default false: only enrolled onboarding
   * credentials do, as Microsoft documents renewal with the onboarding credential, so Azure
   * would refuse the operational certificate; a test that wants the lenient DPS turns it on.
   */
  acceptIssuedCertificates?: boolean;
  /**
   * What `assignedHub` says. Default: the hub's address (`localhost:{port}`), so a device that
   * connects to `assignedHub` as it is reaches the stand-in and nothing on the internet; a
   * device with its own endpoint setting may be given the hub's name instead
   * (`{hub}.azure-devices.net`).
   */
  assignedHub?: string;
  /** The time of certificate validity checks and of the registration state's timestamps. */
  clock?: Clock;
  /** Status lookups answered `202 assigning` before the result (DPS works asynchronously). */
  lookupsWhileAssigning?: number;
  /** The `Retry-After` of `202` answers, in seconds. DPS sends 3. */
  retryAfterSeconds?: number;
  tls?: LoopbackTlsIdentity;
}

/** A call as the stand-in received and answered it. */
export interface DpsCall {
  method: string;
  path: string;
  registrationId?: string;
  status: number;
}

interface Operation {
  operationId: string;
  registrationId: string;
  createdAt: string;
  outcome:
    | { status: 'assigned'; issuedCertificateChain?: string[] }
    | { status: 'failed'; errorCode: number; errorMessage: string };
  lookupsLeft: number;
}

type Route =
  | { kind: 'register'; registrationId: string }
  | { kind: 'operation'; registrationId: string; operationId: string }
  | { kind: 'status'; registrationId: string };

/** `/{idScope}/registrations/{registrationId}[/register | /operations/{operationId}]`. */
const ROUTE = /^\/([^/]+)\/registrations\/([^/]+)(?:\/(register)|\/operations\/([^/]+))?\/?$/;

/**
 * A stand-in for DPS's device runtime API over HTTPS (REST API "Device Provisioning Service -
 * Runtime Registration", swagger `2025-07-01-preview/device.json` in Azure/azure-rest-api-specs;
 * Learn, "How to use X.509 certificates over HTTPS without an SDK"), on a free loopback port:
 * - every call authenticates with the TLS client certificate, valid at the clock, with the
 *   registration id as CN: an onboarding certificate enrolled here (`enroll`), renewals
 *   included (Microsoft documents renewal with the onboarding credential); otherwise `401`
 *   `401002`. With `acceptIssuedCertificates`, an operational certificate this DPS issued
 *   authenticates too;
 * - `PUT …/register` with `{registrationId, csr}` (base64 DER PKCS#10) answers `202`
 *   `{operationId, status: "assigning"}` with `Retry-After`; the CSR goes to the in-process
 *   issuer (StandInDps), whose quota and outages answer `429` and `500` at once;
 * - `GET …/operations/{operationId}` answers `202 assigning`, then `200` with the registration
 *   state: `assigned` with `assignedHub`, `deviceId` and `issuedCertificateChain` (base64 DER,
 *   leaf, issuing CA, root: "ending with the root certification authority"), or `failed` with
 *   `errorCode` and `errorMessage` (a CSR the issuer refuses);
 * - `POST /{idScope}/registrations/{registrationId}` (status lookup) answers the last state,
 *   without the chain.
 * Errors carry DPS's body, `{errorCode, trackingId, message, timestampUtc}`. On issuance the
 * hub is told to authenticate the device through the issuing CA of the policy that issued
 * (certificate management: the hub trusts the issuing CA, and any certificate from it with the
 * device id as CN connects), so an issuance the device never installs locks nothing out. A
 * registration without a CSR leaves the device with the certificate it presented, which the
 * hub learns by thumbprint.
 */
export class StandInDpsService {
  readonly calls: DpsCall[] = [];
  private readonly enrollments = new Map<string, AcceptedCredentials>();
  private readonly operations = new Map<string, Operation>();
  private readonly latest = new Map<string, Operation>();
  private readonly clock: Clock;

  private constructor(
    private readonly options: StandInDpsServiceOptions,
    private readonly server: https.Server,
    readonly port: number,
    /** The local CA devices trust DPS through. */
    readonly caPem: string,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  static async start(options: StandInDpsServiceOptions): Promise<StandInDpsService> {
    const identity = options.tls ?? (await createLoopbackTlsIdentity('stand-in DPS'));
    const server = https.createServer({
      cert: identity.certPem,
      key: identity.keyPem,
      // Every certificate is checked in `authenticate`, at the stand-in's clock.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const service = new StandInDpsService(options, server, port, identity.caPem);
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      service.serve(request, response).catch(() => {
        if (!response.headersSent) service.fail(response, 500, 500000, 'internal error');
        else response.destroy();
      });
    });
    return service;
  }

  /** `https://localhost:{port}`: where a device sends what it would send to `global.azure-devices-provisioning.net`. */
  get url(): string {
    return `https://localhost:${this.port}`;
  }

  /** An individual enrollment: the onboarding certificate's thumbprint, or a CA its chain reaches. */
  enroll(registrationId: string, enrollment: Enrollment): void {
    const key = registrationId.toLowerCase();
    const current = this.enrollments.get(key) ?? {};
    if ('thumbprint' in enrollment) {
      const thumbprints = [
        ...(current.thumbprints ?? []),
        normalizeThumbprint(enrollment.thumbprint),
      ];
      this.enrollments.set(key, { ...current, thumbprints });
    } else {
      const cas = [...(current.cas ?? []), ...parseCertificatePem(enrollment.caPem)];
      this.enrollments.set(key, { ...current, cas });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const text = await readBody(request);
    const url = new URL(request.url ?? '/', 'https://stand-in');
    const call: DpsCall = { method: request.method ?? '', path: request.url ?? '', status: 0 };
    this.calls.push(call);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      this.send(response, status, body, headers);
    };
    // Error codes: DPS publishes 401002 (an unaccepted certificate); for the others the
    // stand-in answers its HTTP status times 1000 (400000, 404000, 429000, 500000).
    const fail = (status: number, errorCode: number, message: string, headers = {}) => {
      call.status = status;
      this.fail(response, status, errorCode, message, headers);
    };

    const route = this.route(url, request.method);
    if (!route) {
      fail(404, 404000, 'not found');
      return;
    }
    call.registrationId = route.registrationId;
    if (url.searchParams.get('api-version') !== DPS_API_VERSION) {
      fail(400, 400000, `the stand-in serves api-version ${DPS_API_VERSION}`);
      return;
    }
    const authenticated = await this.authenticate(request, route.registrationId);
    if (!authenticated.ok) {
      // DPS's answer to a certificate it does not accept (azure-sdk-for-c's provisioning client
      // documents it: 401, `{"errorCode":401002, …, "message":"Invalid certificate."}`).
      fail(401, 401002, 'Invalid certificate.');
      return;
    }

    switch (route.kind) {
      case 'register':
        await this.register(
          route.registrationId,
          text,
          authenticated.thumbprintSha256,
          answer,
          fail,
        );
        return;
      case 'operation': {
        const operation = this.operations.get(route.operationId);
        if (
          !operation ||
          operation.registrationId.toLowerCase() !== route.registrationId.toLowerCase()
        ) {
          fail(404, 404000, 'the operation is not known');
          return;
        }
        if (operation.lookupsLeft > 0) {
          operation.lookupsLeft -= 1;
          answer(
            202,
            {
              operationId: operation.operationId,
              status: 'assigning',
              registrationState: { registrationId: operation.registrationId, status: 'assigning' },
            },
            this.retryHeaders(),
          );
          return;
        }
        answer(200, this.operationStatus(operation));
        return;
      }
      case 'status': {
        const body = parseJson(text);
        if (typeof body === 'object' && body !== null && 'csr' in body) {
          // "Including this field in the RuntimeRegistration_DeviceRegistrationStatusLookup
          // operation will result in a bad request."
          fail(400, 400000, 'csr is not accepted by the registration status lookup');
          return;
        }
        const operation = this.latest.get(route.registrationId.toLowerCase());
        if (!operation) {
          fail(404, 404000, 'the registration is not known');
          return;
        }
        answer(200, this.registrationState(operation, false));
        return;
      }
    }
  }

  private async register(
    registrationId: string,
    text: string,
    presentedThumbprint: string,
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
    fail: (
      status: number,
      errorCode: number,
      message: string,
      headers?: Record<string, string>,
    ) => void,
  ): Promise<void> {
    const body = parseJson(text);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      fail(400, 400000, 'the body is not a JSON object');
      return;
    }
    const registration = body as { registrationId?: unknown; csr?: unknown };
    if (
      typeof registration.registrationId !== 'string' ||
      registration.registrationId.toLowerCase() !== registrationId.toLowerCase()
    ) {
      fail(400, 400000, 'the body’s registrationId is not the one in the path');
      return;
    }
    const hub = this.options.hub;
    let outcome: Operation['outcome'];
    if (registration.csr === undefined) {
      // Registration alone: the device keeps connecting with the certificate it presented.
      outcome = { status: 'assigned' };
      hub?.assignDevice(registrationId, { thumbprintSha256: presentedThumbprint });
    } else if (typeof registration.csr !== 'string') {
      fail(400, 400000, 'csr is not a string');
      return;
    } else {
      const result: DpsRegistrationResult = await this.options.dps.register(
        registrationId,
        registration.csr,
      );
      if (result.status === 'failed') {
        if (result.reason !== 'csr-rejected') {
          // The front door: over the quota, an issuer outage, a bad id are answered at once.
          const headers: Record<string, string> =
            result.retryAfterSeconds !== undefined
              ? { 'retry-after': String(result.retryAfterSeconds) }
              : {};
          fail(result.errorCode, result.errorCode * 1000, result.message, headers);
          return;
        }
        // A CSR the issuer refuses fails the registration, which the device reads by lookup.
        outcome = { status: 'failed', errorCode: result.errorCode, errorMessage: result.message };
      } else {
        const issuingCa = this.options.dps.issuingCa(result.policy);
        hub?.assignDevice(registrationId, { issuingCaPem: issuingCa.toString('pem') });
        outcome = { status: 'assigned', issuedCertificateChain: result.issuedCertificateChain };
      }
    }
    const operation: Operation = {
      // DPS's operation ids look like `5.506603669bd3e2bf.b3602f8f-…`; any opaque string does.
      operationId: `5.${randomBytes(8).toString('hex')}.${randomUUID()}`,
      registrationId,
      createdAt: isoUtc(this.clock.now()),
      outcome,
      lookupsLeft: this.options.lookupsWhileAssigning ?? 0,
    };
    this.operations.set(operation.operationId, operation);
    this.latest.set(registrationId.toLowerCase(), operation);
    // As DPS answers (Learn, "How to use X.509 certificates over HTTPS without an SDK").
    answer(
      202,
      { operationId: operation.operationId, status: 'assigning' },
      {
        location: `${this.url}/${this.options.idScope}/registrations/${encodeURIComponent(registrationId)}/register`,
        ...this.retryHeaders(),
      },
    );
  }

  /**
   * Whether the caller's certificate proves `registrationId`: enrolled, or (with
   * `acceptIssuedCertificates`) issued here.
   */
  private async authenticate(
    request: http.IncomingMessage,
    registrationId: string,
  ): Promise<{ ok: true; thumbprintSha256: string } | { ok: false }> {
    const enrolled = this.enrollments.get(registrationId.toLowerCase()) ?? {};
    const dps = this.options.dps;
    const issuedHere = this.options.acceptIssuedCertificates
      ? dps.policies.map((p) => dps.issuingCa(p.name))
      : [];
    const verdict = await checkClientCertificate({
      presented: presentedCertificateOf(request.socket as TLSSocket),
      accept: {
        thumbprints: enrolled.thumbprints ?? [],
        cas: [
          ...(enrolled.cas ?? []),
          ...issuedHere.map((c) => new x509.X509Certificate(c.rawData)),
        ],
      },
      at: this.clock.now(),
      commonName: registrationId,
      commonNameAlways: true,
      commonNameCaseInsensitive: true,
    });
    return verdict.ok ? { ok: true, thumbprintSha256: verdict.thumbprintSha256 } : { ok: false };
  }

  private route(url: URL, method: string | undefined): Route | undefined {
    const match = ROUTE.exec(url.pathname);
    if (!match?.[1] || !match[2]) return undefined;
    let idScope: string;
    let registrationId: string;
    let operationId: string | undefined;
    try {
      idScope = decodeURIComponent(match[1]);
      registrationId = decodeURIComponent(match[2]);
      operationId = match[4] === undefined ? undefined : decodeURIComponent(match[4]);
    } catch {
      return undefined;
    }
    if (idScope !== this.options.idScope) return undefined;
    if (match[3] && method === 'PUT') return { kind: 'register', registrationId };
    if (operationId !== undefined && method === 'GET') {
      return { kind: 'operation', registrationId, operationId };
    }
    if (!match[3] && !match[4] && method === 'POST') return { kind: 'status', registrationId };
    return undefined;
  }

  private operationStatus(operation: Operation): object {
    const state = this.registrationState(operation, true);
    return { operationId: operation.operationId, status: state.status, registrationState: state };
  }

  /**
   * DeviceRegistrationResult as DPS returns it for X.509 attestation; the chain only in an
   * operation's result ("not included in responses for the … Status Lookup operation").
   */
  private registrationState(
    operation: Operation,
    withChain: boolean,
  ): Record<string, unknown> & { status: string } {
    const outcome = operation.outcome;
    const common = {
      x509: {},
      registrationId: operation.registrationId,
      createdDateTimeUtc: operation.createdAt,
    };
    const updated = { lastUpdatedDateTimeUtc: operation.createdAt, etag: etagOf(operation) };
    if (outcome.status === 'failed') {
      return {
        ...common,
        status: 'failed',
        errorCode: outcome.errorCode,
        errorMessage: outcome.errorMessage,
        ...updated,
      };
    }
    const root = Buffer.from(this.options.dps.root.certificate.rawData).toString('base64');
    const issued = outcome.issuedCertificateChain;
    const chain = withChain && issued ? { issuedCertificateChain: [...issued, root] } : {};
    return {
      ...common,
      assignedHub: this.options.assignedHub ?? this.options.hub?.address ?? 'localhost',
      deviceId: operation.registrationId,
      status: 'assigned',
      substatus: 'initialAssignment',
      ...updated,
      ...chain,
    };
  }

  private retryHeaders(): Record<string, string> {
    return { 'retry-after': String(this.options.retryAfterSeconds ?? 3) };
  }

  private send(
    response: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    response.end(JSON.stringify(body));
  }

  /** ProvisioningServiceErrorDetails: `{errorCode, trackingId, message, timestampUtc}`. */
  private fail(
    response: http.ServerResponse,
    status: number,
    errorCode: number,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    this.send(
      response,
      status,
      { errorCode, trackingId: randomUUID(), message, timestampUtc: isoUtc(this.clock.now()) },
      { 'x-ms-error-code': String(errorCode), ...headers },
    );
  }
}

function etagOf(operation: Operation): string {
  return Buffer.from(`"${operation.operationId}"`).toString('base64');
}
