/**
 * A device is known by the hub it lives in and its IoT Hub device id. Several hubs may feed one
 * certfleet, and device ids are unique only within a hub.
 */
export interface DeviceKey {
  hub: string;
  deviceId: string;
}

/**
 * One string per device, for maps and messages: `hub/deviceId`. Two devices share it only when
 * both their hub and their id are the same: the hub's own `%` and `/` are escaped (`%25`,
 * `%2F`), so the first `/` always ends the hub (hub `a/x` with device `d` is `a%2Fx/d`, hub `a`
 * with device `x/d` is `a/x/d`). Real hub names hold neither, so they read as they are.
 */
export function deviceKeyString(key: DeviceKey): string {
  return `${key.hub.replace(/%/g, '%25').replace(/\//g, '%2F')}/${key.deviceId}`;
}

/** IoT Hub names are DNS labels; `contoso-hub.azure-devices.net` and `contoso-hub` are one hub. */
export function normalizeHubName(hub: string): string {
  return hub
    .trim()
    .toLowerCase()
    .replace(/\.azure-devices\.net$/, '');
}

/**
 * Device and module ids as IoT Hub allows them (AZURE-FACTS.md; Microsoft Learn, "Understand the
 * identity registry", and the IoT Hub event schemas): case-sensitive, at most 128 characters,
 * ASCII letters and digits and `- : . + % _ # * ? ! ( ) , = @ ; $ '`. The identity-registry page
 * now lists `+ #` as unsupported and leaves `;` out, while the event schemas still list them:
 * every character IoT Hub has documented is accepted, so a device created under the older
 * rules keeps its history. An id outside this cannot come from IoT Hub: the event is rejected
 * (dead-lettered) before it reaches storage, where it could never be written (a 1,000-character
 * id overflows a Table key) or could collide with another id once altered.
 */
export const MAX_IOT_HUB_ID_LENGTH = 128;
const IOT_HUB_ID_CHARACTER = /[A-Za-z0-9\-:.+%_#*?!(),=@;$']/;

/** Hub names: host name labels (letters, digits, hyphens), at most 63 characters. */
const MAX_HUB_NAME_LENGTH = 63;
const HUB_NAME_CHARACTER = /[A-Za-z0-9-]/;

interface IdRule {
  what: string;
  maxLength: number;
  /** How the limit is named in a reason. */
  limitSource: string;
  allowed: RegExp;
  /** How a refused character is named in a reason. */
  refusal: string;
}

const DEVICE_ID: IdRule = {
  what: 'device id',
  maxLength: MAX_IOT_HUB_ID_LENGTH,
  limitSource: 'IoT Hub allows',
  allowed: IOT_HUB_ID_CHARACTER,
  refusal: 'which IoT Hub does not allow',
};
const MODULE_ID: IdRule = { ...DEVICE_ID, what: 'module id' };
const HUB_NAME: IdRule = {
  what: 'hub name',
  maxLength: MAX_HUB_NAME_LENGTH,
  limitSource: 'of a host name label',
  allowed: HUB_NAME_CHARACTER,
  refusal: 'which a hub name cannot',
};

/** Why `deviceId` cannot be an IoT Hub device id, or undefined when it can be one. */
export function deviceIdProblem(deviceId: string): string | undefined {
  return idProblem(DEVICE_ID, deviceId);
}

/** Why `moduleId` cannot be an IoT Hub module id (the same rule as device ids). */
export function moduleIdProblem(moduleId: string): string | undefined {
  return idProblem(MODULE_ID, moduleId);
}

/** Why `hub` (normalized: normalizeHubName) cannot be an IoT Hub name. */
export function hubNameProblem(hub: string): string | undefined {
  return idProblem(HUB_NAME, hub);
}

/**
 * The first thing wrong with an id, said without quoting the id (it could hold anything, even
 * key material): its length, or the offending character by code point and 1-based position.
 * A lone surrogate is named as such: it is not text, and an id holding one is rejected rather
 * than silently altered (UTF-8 would turn it into U+FFFD, and two ids into one).
 */
function idProblem(rule: IdRule, id: string): string | undefined {
  const { what, maxLength } = rule;
  if (id.length === 0) return `${what} is empty`;
  const lone = loneSurrogateAt(id);
  if (lone !== undefined) {
    return `${what} holds a lone surrogate (${codePoint(id.charCodeAt(lone))}) at position ${lone + 1}: not text, and never altered to fit`;
  }
  if (id.length > maxLength) {
    return `${what} is ${id.length} characters, over the ${maxLength} ${rule.limitSource}`;
  }
  for (let i = 0; i < id.length; i += 1) {
    const character = String.fromCodePoint(id.codePointAt(i) ?? 0);
    if (rule.allowed.test(character)) continue;
    const code = codePoint(character.codePointAt(0) ?? 0);
    const printable = /^[\x21-\x7e ]$/.test(character) ? `"${character}" (${code})` : code;
    return `${what} holds ${printable} at position ${i + 1}, ${rule.refusal}`;
  }
  return undefined;
}

/** The index of the first UTF-16 surrogate without its other half, if any. */
export function loneSurrogateAt(text: string): number | undefined {
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return undefined;
}

function codePoint(value: number): string {
  return `U+${value.toString(16).toUpperCase().padStart(4, '0')}`;
}
