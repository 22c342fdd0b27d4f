/**
 * Who asked for a manual renewal, as the device's record and the audit trail say it
 * (`requestedBy`).
 *
 * Only App Service authentication (Easy Auth) vouches for a name: when it is on, the platform
 * sets `x-ms-client-principal-name` itself and a caller cannot (AZURE-FACTS.md, "App Service
 * authentication headers"). Whether it is on is a setting (CERTFLEET_TRUST_EASY_AUTH), since
 * nothing in a request can prove it. Otherwise the caller is known only as someone holding a
 * function key, and a name it gives, in that header or in the body, is its claim: recorded as
 * claimed, so no caller can make the trail say that someone else asked.
 */
export type Requester =
  { kind: 'authenticated'; name: string } | { kind: 'function-key-holder'; claimedName?: string };

export const FUNCTION_KEY_HOLDER = 'function key holder';

/** What the request carries about its caller, and whether App Service authentication is on. */
export interface RequesterEvidence {
  easyAuthTrusted: boolean;
  /** `x-ms-client-principal-name`, if the request has it. */
  principalName?: string;
  /** The name the body gives (`requestedBy`). */
  statedName?: string;
}

/** Who asked: the authenticated principal when Easy Auth vouches for it, else a claim. */
export function requesterOf(evidence: RequesterEvidence): Requester {
  const principal = nonBlank(evidence.principalName);
  if (evidence.easyAuthTrusted && principal) return { kind: 'authenticated', name: principal };
  // Untrusted, the header is a claim like the body's; it was the one asked for by name.
  const claimed =
    (evidence.easyAuthTrusted ? undefined : principal) ?? nonBlank(evidence.statedName);
  return claimed
    ? { kind: 'function-key-holder', claimedName: claimed }
    : { kind: 'function-key-holder' };
}

/** `alice@contoso.com`, `function key holder (claimed: alice@contoso.com)`, `function key holder`. */
export function describeRequester(requester: Requester): string {
  if (requester.kind === 'authenticated') return requester.name;
  return requester.claimedName
    ? `${FUNCTION_KEY_HOLDER} (claimed: ${requester.claimedName})`
    : FUNCTION_KEY_HOLDER;
}

function nonBlank(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}
