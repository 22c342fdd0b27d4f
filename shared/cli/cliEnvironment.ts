import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The CLI reads the same settings as the Function app: the environment first, then the Values
 * of local.settings.json in the working directory (as Core Tools does).
 */
export function cliEnvironment(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const path = join(cwd, 'local.settings.json');
  if (!existsSync(path)) return { ...env };
  let values: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, unknown> };
    values = parsed.Values ?? {};
  } catch (error) {
    throw new UsageError(`local.settings.json is not valid JSON (${(error as Error).message})`);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string') merged[name] = value;
  }
  return { ...merged, ...env };
}

/** Bad usage or settings: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
