/**
 * The local host's environment (DESIGN.md "Local run"), parsed once at start with zod; a bad value stops the
 * start with a message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { EXAMPLE_CONFIG_YAML } from '../core/config/example.ts';
import { type GatewayConfig, parseConfig } from '../core/config/schema.ts';
import type { ProviderKeySource } from '../core/ports.ts';
import { responsesTtlDaysSchema } from '../core/stores/response-store.ts';

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
  /** How long SIGTERM/SIGINT lets requests in flight finish before the rest are ended. */
  SWITCHYARD_SHUTDOWN_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000, 'must be at most 3600000 (one hour)')
    .default(30_000),
  /** Days a stored response (Responses API, `store: true`) is kept. */
  SWITCHYARD_RESPONSES_TTL_DAYS: responsesTtlDaysSchema,
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

/** Why a file could not be read, in words (never a bare errno). */
function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
  return `cannot be read (${code ?? String(err)})`;
}

/**
 * A config file, read and validated. A file that cannot be read fails with its path, why, and `fix`;
 * `via` names the variable the path came from, if it came from one.
 */
export async function readConfigFile(file: string, fix: string, via?: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const subject = via === undefined ? `The config file ${file}` : `${via} points to ${file}, which`;
    throw new Error(`${subject} ${unreadable(err)} (${resolve(file)}). ${fix}`, { cause: err });
  }
  return parseConfig(parseYaml(text), file);
}

export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** What to call it in messages. */
  readonly source: string;
  /** The file it came from; undefined for the built-in example. */
  readonly file: string | undefined;
}

/** The config file named by SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in mock example. */
export async function loadConfigFile(path: string | undefined): Promise<LoadedConfig> {
  const file = path ?? (existsSync('switchyard.yaml') ? 'switchyard.yaml' : undefined);
  if (file === undefined) {
    return {
      config: parseConfig(parseYaml(EXAMPLE_CONFIG_YAML), 'built-in example config'),
      source: 'built-in example (mock provider)',
      file: undefined,
    };
  }
  const config = await readConfigFile(
    file,
    'Fix the path, or unset SWITCHYARD_CONFIG to use ./switchyard.yaml or the built-in example.',
    path === undefined ? undefined : 'SWITCHYARD_CONFIG',
  );
  return { config, source: file, file };
}

export interface MasterKey {
  readonly key: string;
  /** Made on this start (so it may be shown once). */
  readonly generated: boolean;
  /** Where it came from: the variable, or the file in the data dir. */
  readonly from: 'env' | 'file';
  /** The file it is saved in (`from: 'file'`). */
  readonly file: string;
}

/** SWITCHYARD_MASTER_KEY, else the key saved in the data dir, else a new one saved there (mode 0600). */
export async function resolveMasterKey(given: string | undefined, dataDir: string): Promise<MasterKey> {
  const file = join(dataDir, 'master-key');
  if (given !== undefined) return { key: given, generated: false, from: 'env', file };
  if (existsSync(file))
    return { key: (await readFile(file, 'utf8')).trim(), generated: false, from: 'file', file };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = `sk-sy-master-${randomBytes(24).toString('base64url')}`;
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { key, generated: true, from: 'file', file };
}

/** Provider keys from the environment (Lambda's adapter reads Secrets Manager instead). */
export function staticProviderKeys(keys: ProviderKeys): ProviderKeySource {
  const table = new Map(Object.entries(keys).map(([id, k]) => [id, typeof k === 'string' ? [k] : k]));
  return { keys: async (id) => table.get(id) ?? [] };
}
