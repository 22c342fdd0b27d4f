/**
 * IoT Hub's rules for a twin's reported properties, as the stand-in device endpoint enforces
 * them on each patch a device sends (Learn, "Understand and use device twins in IoT Hub":
 * "Tags and properties format" and "Device twin size"):
 * - keys: UTF-8, at most 1 KB, no control characters (C0, C1), no `.`, `$` or space;
 * - values: boolean, number, string, object or array; integers from -4503599627370496 to
 *   4503599627370495; strings at most 4 KB;
 * - objects nest at most 10 deep;
 * - the reported section is at most 32 KB, counted as IoT Hub counts it: each key's length plus
 *   its value's (strings by their characters without control characters, numbers 8 bytes,
 *   booleans 4, objects their contents), `$version` and `$metadata` excluded;
 * - an update is a merge patch: members left out keep their value, `null` removes a member.
 * Any rule broken refuses the whole patch (IoT Hub answers 400 and changes nothing).
 */
export type TwinSection = Record<string, unknown>;

export const MAX_KEY_BYTES = 1024;
export const MAX_STRING_BYTES = 4 * 1024;
export const MAX_OBJECT_DEPTH = 10;
export const MAX_REPORTED_BYTES = 32 * 1024;
const MIN_INTEGER = -4503599627370496;
const MAX_INTEGER = 4503599627370495;

// C0 and C1 control characters, and what IoT Hub forbids in keys.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const FORBIDDEN_IN_KEY = /[.$ ]/;

/** Why IoT Hub refuses this patch on top of `current`; undefined when it accepts it. */
export function reportedPatchProblem(patch: unknown, current: TwinSection): string | undefined {
  if (!isObject(patch)) return 'the reported properties patch is not a JSON object';
  const problem = valueProblem(patch, '', 0);
  if (problem) return problem;
  const size = sectionSize(mergePatch(current, patch));
  if (size > MAX_REPORTED_BYTES) {
    return `the reported properties would hold ${size} bytes, over IoT Hub's ${MAX_REPORTED_BYTES}`;
  }
  return undefined;
}

/** RFC 7396 merge: objects merge member by member, `null` removes, anything else replaces. */
export function mergePatch(target: TwinSection, patch: TwinSection): TwinSection {
  const merged: TwinSection = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete merged[key];
    } else if (isObject(value)) {
      const before = merged[key];
      merged[key] = mergePatch(isObject(before) ? before : {}, value);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** The size IoT Hub counts for a twin section ("Device twin size"). */
export function sectionSize(section: TwinSection): number {
  let size = 0;
  for (const [key, value] of Object.entries(section)) {
    if (key === '$version' || key === '$metadata') continue;
    size += countedLength(key) + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return countedLength(value);
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 4;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + valueSize(v), 0);
  if (isObject(value)) return sectionSize(value);
  return 0;
}

function countedLength(text: string): number {
  return [...text.replace(CONTROL, '')].length;
}

function valueProblem(value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${path} is not a finite number`;
    if (Number.isInteger(value) && (value < MIN_INTEGER || value > MAX_INTEGER)) {
      return `${path} is outside IoT Hub's integer range`;
    }
    return undefined;
  }
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value, 'utf8');
    return bytes > MAX_STRING_BYTES
      ? `${path} is a string of ${bytes} bytes, over IoT Hub's ${MAX_STRING_BYTES}`
      : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = valueProblem(item, `${path}[${i}]`, depth);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isObject(value)) {
    if (depth > MAX_OBJECT_DEPTH) {
      return `${path} nests objects deeper than IoT Hub's ${MAX_OBJECT_DEPTH}`;
    }
    for (const [key, member] of Object.entries(value)) {
      const keyProblem = keyProblemOf(key);
      const where = path === '' ? key : `${path}.${key}`;
      if (keyProblem) return `key "${where}" ${keyProblem}`;
      const problem = valueProblem(member, where, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${path} is not a JSON value`;
}

function keyProblemOf(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `is over ${MAX_KEY_BYTES} bytes`;
  if (new RegExp(CONTROL.source).test(key)) return 'holds a control character';
  if (FORBIDDEN_IN_KEY.test(key)) return 'holds ".", "$" or a space';
  return undefined;
}

function isObject(value: unknown): value is TwinSection {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
