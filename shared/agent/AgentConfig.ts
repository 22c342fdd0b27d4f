import { z } from 'zod';

/**
 * The agent's configuration file (`--config agent.json`), validated once at start: every
 * problem is named, one line each. Paths are read relative to the file's folder.
 *
 * {
 *   "registrationId": "thermostat-0001",
 *   "idScope": "0ne00000000",
 *   "dpsHost": "global.azure-devices-provisioning.net",
 *   "stateDirectory": "/var/lib/certfleet-agent",
 *   "onboarding": { "certificateFile": "onboarding.pem", "keyFile": "onboarding.key" }
 * }
 */
export interface AgentConfig {
  registrationId: string;
  idScope: string;
  dpsHost: string;
  stateDirectory: string;
  onboarding: { certificateFile: string; keyFile: string };
  trustedCaFile?: string;
  renewAtFraction: number;
  dpsCredential: 'current' | 'onboarding';
  hubEndpoint?: string;
  methodName: string;
  retry: { initialSeconds: number; maxSeconds: number };
}

/** DPS registration ids: up to 128 of a-z A-Z 0-9 : . _ -, no special character first or last. */
const REGISTRATION_ID = /^[A-Za-z0-9](?:[A-Za-z0-9:._-]{0,126}[A-Za-z0-9])?$/;
/** A host name or address, optionally with a port; no scheme, no path. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

const schema = z.strictObject({
  registrationId: z
    .string()
    .regex(REGISTRATION_ID, 'must be a DPS registration id: up to 128 of A-Z a-z 0-9 : . _ -'),
  idScope: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be the DPS ID scope (0ne…)'),
  dpsHost: z
    .string()
    .regex(HOST_PORT, 'must be host or host:port, without https://')
    .default('global.azure-devices-provisioning.net'),
  stateDirectory: z.string().min(1),
  onboarding: z.strictObject({
    certificateFile: z.string().min(1),
    keyFile: z.string().min(1),
  }),
  trustedCaFile: z.string().min(1).optional(),
  renewAtFraction: z.number().gt(0).lt(1).default(0.8),
  dpsCredential: z.enum(['current', 'onboarding']).default('onboarding'),
  hubEndpoint: z.string().regex(HOST_PORT, 'must be host:port').optional(),
  methodName: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a direct method name')
    .default('renewCertificate'),
  retry: z
    .strictObject({
      initialSeconds: z.number().positive().default(60),
      maxSeconds: z.number().positive().default(3600),
    })
    .refine((r) => r.maxSeconds >= r.initialSeconds, 'maxSeconds must be at least initialSeconds')
    .default({ initialSeconds: 60, maxSeconds: 3600 }),
});

export class AgentConfigInvalid extends Error {
  readonly code = 'agent-config-invalid';
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The configuration from the file's parsed JSON; throws AgentConfigInvalid naming each problem. */
export function parseAgentConfig(json: unknown): AgentConfig {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new AgentConfigInvalid(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`),
    );
  }
  const config = parsed.data;
  return {
    registrationId: config.registrationId,
    idScope: config.idScope,
    dpsHost: config.dpsHost,
    stateDirectory: config.stateDirectory,
    onboarding: config.onboarding,
    renewAtFraction: config.renewAtFraction,
    dpsCredential: config.dpsCredential,
    methodName: config.methodName,
    retry: config.retry,
    ...(config.trustedCaFile !== undefined ? { trustedCaFile: config.trustedCaFile } : {}),
    ...(config.hubEndpoint !== undefined ? { hubEndpoint: config.hubEndpoint } : {}),
  };
}
