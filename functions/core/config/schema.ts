/**
 * The YAML config of DESIGN.md, validated once with zod. Unknown fields are errors, and every error names the
 * path of the bad field (`routes.gpt-4o-mini.targets.0.provider: …`).
 */
import { z } from 'zod';
import { PRESETS } from './presets.ts';

export const PROVIDER_TYPES = ['openai', 'anthropic', 'gemini', 'bedrock', 'mock'] as const;
/** Provider types whose adapter exists today; the others are accepted by later issues. */
export const IMPLEMENTED_PROVIDER_TYPES: ReadonlySet<string> = new Set(['openai', 'mock']);

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

const provider = z.strictObject({
  type: z.enum(PROVIDER_TYPES),
  preset: z.string().optional(),
  baseUrls: z.array(httpUrl).min(1).optional(),
  billing: z.looseObject({ type: z.string() }).optional(),
  /** Extra headers sent upstream on every call (e.g. OpenRouter's HTTP-Referer). */
  headers: z.record(z.string(), z.string()).optional(),
});

const timeouts = z.strictObject({
  firstByteMs: z.number().int().positive().default(30_000),
  idleMs: z.number().int().positive().default(30_000),
  totalMs: z.number().int().positive().default(600_000),
});

const retry = z.strictObject({
  attempts: z.number().int().min(0).max(10).default(2),
  initialBackoffMs: z.number().int().min(0).default(500),
  maxBackoffMs: z.number().int().min(0).default(8_000),
});

const target = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().positive().optional(),
});

const route = z.strictObject({
  strategy: z.enum(['fallback', 'weighted']).default('fallback'),
  targets: z.array(target).min(1),
  timeouts: timeouts.default(timeouts.parse({})),
  retry: retry.default(retry.parse({})),
  /**
   * A stream whose client left: `drain` keeps reading the upstream (bounded by `timeouts.totalMs`) to learn
   * the true usage for the ledger; `abort` stops it at once (saves the wait, bills by estimate).
   */
  onClientDisconnect: z.enum(['drain', 'abort']).default('drain'),
  /** Output tokens a budget reservation assumes when the client sets no `max_tokens`. */
  reserveOutputTokens: z.number().int().positive().default(4096),
});

const price = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cachedInput: z.number().min(0).optional(),
  /** Recorded with each priced request (`priceVersion`); default: a digest of the three prices. */
  version: z.string().min(1).max(64).optional(),
});

/** Provider ids go into headers, DynamoDB keys and `provider/model` price keys: plain ASCII only. */
const providerId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'provider ids are 1-64 characters of A-Z a-z 0-9 . _ - (not starting with . _ -)',
  );

const configShape = z.strictObject({
  providers: z.record(providerId, provider),
  routes: z.record(z.string().min(1), route),
  prices: z.record(z.string(), price).default({}),
});

export const configSchema = configShape.superRefine((cfg, ctx) => {
  for (const [id, p] of Object.entries(cfg.providers)) {
    if (p.preset !== undefined && !(p.preset in PRESETS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['providers', id, 'preset'],
        message: `unknown preset "${p.preset}" (known: ${Object.keys(PRESETS).join(', ')})`,
      });
    }
    if (!IMPLEMENTED_PROVIDER_TYPES.has(p.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['providers', id, 'type'],
        message: `provider type "${p.type}" is not available in this version (available: openai, mock)`,
      });
    }
    const preset = p.preset === undefined ? undefined : PRESETS[p.preset];
    if (p.type !== 'mock' && p.baseUrls === undefined && preset?.baseUrls === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['providers', id, 'baseUrls'],
        message: 'required (no preset gives it)',
      });
    }
  }
  for (const [name, r] of Object.entries(cfg.routes)) {
    r.targets.forEach((t, i) => {
      if (!(t.provider in cfg.providers)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', name, 'targets', i, 'provider'],
          message: `unknown provider "${t.provider}"`,
        });
      }
    });
  }
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type ProviderConfig = GatewayConfig['providers'][string];
export type RouteConfig = GatewayConfig['routes'][string];
export type TargetConfig = RouteConfig['targets'][number];
export type Timeouts = RouteConfig['timeouts'];
export type RetryConfig = RouteConfig['retry'];
export type PriceConfig = GatewayConfig['prices'][string];

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates parsed YAML/JSON; throws {@link ConfigError} whose lines are `path: message`. */
export function parseConfig(input: unknown, source = 'config'): GatewayConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    // A bad record key (e.g. a provider id) carries its reason one level down.
    const message = i.code === 'invalid_key' ? i.issues.map((k) => k.message).join('; ') : i.message;
    return `${i.path.map(String).join('.') || '(root)'}: ${message}`;
  });
  throw new ConfigError(`Invalid ${source}:\n  ${issues.join('\n  ')}`, issues);
}

const MOCK_BASE_URLS = ['mock://in-process'];

/** Base URLs of a provider: its own list, else its preset's. */
export function baseUrlsOf(p: ProviderConfig): readonly string[] {
  if (p.type === 'mock') return MOCK_BASE_URLS;
  return p.baseUrls ?? (p.preset === undefined ? undefined : PRESETS[p.preset]?.baseUrls) ?? [];
}
