import { codeOf, statusOf } from './storageFaults';

/**
 * A failed storage call as the health check reports it: the status and the service's error code
 * (`403 AuthorizationPermissionMismatch`, `404 ContainerNotFound`), or the network error's code
 * (`ENOTFOUND`, `ECONNREFUSED`), or the error's kind (`CredentialUnavailableError`: no token).
 * Never the message: it may quote a URL, and a URL may carry a SAS.
 */
export function storageProblem(error: unknown): string {
  const status = statusOf(error);
  const code = safeCode(codeOf(error));
  if (status !== undefined) return code ? `${status} ${code}` : `${status}`;
  if (code) return code;
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^\w{1,60}$/.test(name) ? name : 'unknown error';
}

/** A code is a word (`AuthorizationPermissionMismatch`, `ENOTFOUND`); anything else is not shown. */
function safeCode(code: string | undefined): string | undefined {
  return code && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(code) ? code : undefined;
}
