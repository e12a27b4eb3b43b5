// Configuration is read from the environment once, validated with a zod schema, and frozen.
// Only a process's entry point calls loadConfig; everything else receives the result.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { SynclineError } from './errors.ts';

export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw invalidConfig(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  }
  return Object.freeze(parsed.data);
}

/** The start-up error for settings that cannot work, each named by its variable. */
export function invalidConfig(details: Array<{ path: string; message: string }>): SynclineError {
  const lines = details.map((d) => `  ${d.path || '(root)'}: ${d.message}`).join('\n');
  return new SynclineError('SYNC_CONFIG_INVALID', `invalid configuration:\n${lines}`, { details });
}

/** The start-up error for one setting. */
export const invalidSetting = (variable: string, message: string) => invalidConfig([{ path: variable, message }]);

/**
 * A secret given inline (`variable`) or in a file (`variable`_FILE), not both; an empty value counts as
 * unset (an orchestrator's blank variable must not override a mounted secret). Undefined when neither.
 */
export function secretSetting(variable: string, inline: string | undefined, file: string | undefined) {
  if (inline && file) throw invalidSetting(`${variable}_FILE`, `set either ${variable} or this, not both`);
  if (inline) return inline;
  return file ? readSettingFile(`${variable}_FILE`, file).trim() : undefined;
}

/** A file a setting points at (a CA, a key, a secret), or a start-up error naming the variable. */
export function readSettingFile(variable: string, path: string): string {
  try {
    const text = readFileSync(path, 'utf8');
    if (!text.trim()) throw new Error('the file is empty');
    return text;
  } catch (err) {
    throw invalidSetting(variable, `cannot read ${path}: ${(err as Error).message}`);
  }
}
