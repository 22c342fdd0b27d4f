import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSyntaxErrorAt } from './jsonSyntaxErrorAt';

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
  // Editors on Windows may save it with a byte order mark, which Core Tools reads past.
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  let values: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as { Values?: Record<string, unknown> } | null;
    values = parsed?.Values ?? {};
  } catch {
    // The file holds connection strings and keys: say where it breaks, never what is there
    // (V8's message may quote the text around the error).
    const at = jsonSyntaxErrorAt(text);
    throw new UsageError(
      `local.settings.json is not valid JSON${at ? ` (line ${at.line}, column ${at.column})` : ''}`,
    );
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
