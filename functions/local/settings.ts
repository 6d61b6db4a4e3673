/**
 * The local host's environment (DESIGN.md "Local run"), parsed once at start with zod; a bad value stops the
 * start with a message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EXAMPLE_CONFIG_YAML } from '../core/config/example.ts';
import { type GatewayConfig, parseConfig } from '../core/config/schema.ts';
import type { ProviderKeySource } from '../core/ports.ts';

const providerKeysSchema = z.record(
  z.string(),
  z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
);
export type ProviderKeys = z.infer<typeof providerKeysSchema>;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  SWITCHYARD_CONFIG: z.string().min(1).optional(),
  SWITCHYARD_DATA_DIR: z.string().min(1).default('.switchyard'),
  SWITCHYARD_MASTER_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  SWITCHYARD_PROVIDER_KEYS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return {};
      try {
        return providerKeysSchema.parse(JSON.parse(text));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON {"<provider id>": "key" | ["key1", "key2"]}' });
        return z.NEVER;
      }
    }),
});
export type LocalEnv = z.infer<typeof envSchema>;

export function parseEnv(env: NodeJS.ProcessEnv): LocalEnv {
  const r = envSchema.safeParse(env);
  if (r.success) return r.data;
  // Never echo the value: these variables hold secrets.
  const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new Error(`Invalid environment:\n  ${lines.join('\n  ')}`);
}

/** The config file named by SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in mock example. */
export async function loadConfigFile(
  path: string | undefined,
): Promise<{ config: GatewayConfig; source: string }> {
  const file = path ?? (existsSync('switchyard.yaml') ? 'switchyard.yaml' : undefined);
  if (file === undefined) {
    return {
      config: parseConfig(parseYaml(EXAMPLE_CONFIG_YAML), 'built-in example config'),
      source: 'built-in example (mock provider)',
    };
  }
  const text = await readFile(file, 'utf8');
  return { config: parseConfig(parseYaml(text), file), source: file };
}

/** SWITCHYARD_MASTER_KEY, else the key saved in the data dir, else a new one saved there (mode 0600). */
export async function resolveMasterKey(
  given: string | undefined,
  dataDir: string,
): Promise<{ key: string; generated: boolean }> {
  if (given !== undefined) return { key: given, generated: false };
  const file = join(dataDir, 'master-key');
  if (existsSync(file)) return { key: (await readFile(file, 'utf8')).trim(), generated: false };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = `sk-sy-master-${randomBytes(24).toString('base64url')}`;
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { key, generated: true };
}

/** Provider keys from the environment (Lambda's adapter reads Secrets Manager instead). */
export function staticProviderKeys(keys: ProviderKeys): ProviderKeySource {
  const table = new Map(Object.entries(keys).map(([id, k]) => [id, typeof k === 'string' ? [k] : k]));
  return { keys: async (id) => table.get(id) ?? [] };
}
