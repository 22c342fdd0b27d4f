import { z } from 'zod';

/** The environment settings are read from: Function app settings, or local.settings.json's Values. */
export type Env = Record<string, string | undefined>;

/** A text setting, trimmed; empty or blank means unset. */
export const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A number setting: empty means unset; otherwise it must parse and pass `check`. */
export function numberSetting(check: (n: number) => boolean, requirement: string) {
  return optionalText
    .refine(
      (v) => v === undefined || (/^\s*-?\d+(\.\d+)?\s*$/.test(v) && check(Number(v))),
      requirement,
    )
    .transform((v) => (v === undefined ? undefined : Number(v)));
}
