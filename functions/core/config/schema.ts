/**
 * The YAML config of DESIGN.md, validated once with zod. Unknown fields are errors, and every error names the
 * path of the bad field (`routes.gpt-4o-mini.targets.0.provider: …`).
 */
import * as z from 'zod';
import { own } from '../json.ts';
import { healthSchema } from './health-schema.ts';
import { BILLING_TYPES, PRESETS, type Preset } from './presets.ts';

export const PROVIDER_TYPES = ['openai', 'anthropic', 'gemini', 'bedrock', 'mock'] as const;
/** The OpenAI paths a provider of type `openai` may serve natively. */
export const OPENAI_ENDPOINTS = ['chat', 'embeddings', 'responses'] as const;
export type OpenAIEndpoint = (typeof OPENAI_ENDPOINTS)[number];
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Base URLs of the native providers when the config gives none (their public API hosts). */
const NATIVE_BASE_URLS: Readonly<Partial<Record<ProviderType, readonly string[]>>> = {
  anthropic: PRESETS.anthropic?.baseUrls ?? [],
  gemini: PRESETS.gemini?.baseUrls ?? [],
};

/** Header names that carry a credential (Authorization, x-api-key, api-key, X-Auth-Token, …). */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|cookie|password/i;

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

export { type HealthSettings, healthSchema } from './health-schema.ts';

const provider = z.strictObject({
  /** Optional with a preset, which gives it. */
  type: z.enum(PROVIDER_TYPES).optional(),
  preset: z.string().optional(),
  baseUrls: z.array(httpUrl).min(1).optional(),
  billing: z
    .strictObject({
      type: z.enum(BILLING_TYPES),
      /** Where the billing API lives, when not under the provider's first base URL. */
      baseUrl: httpUrl.optional(),
      /** The currency the bill is in when the API does not say (default per adapter: USD, SiliconFlow CNY). */
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD or CNY')
        .optional(),
      /** USD per unit of `currency`, to compare a non-USD bill with the ledger (which is in USD). */
      usdRate: z.number().positive().optional(),
      /** Drift (percent of the ledger) still called `ok`; default 2. */
      tolerancePercent: z.number().min(0).optional(),
      /** `ProviderBalance` below this (in the bill's currency) fires the low-balance alarm. */
      lowBalance: z.number().min(0).optional(),
      /** one-api relays: the unit of `total_usage` (new-api documents cents; some forks send dollars). */
      usageUnit: z.enum(['cents', 'dollars']).optional(),
      /** OpenRouter: how many of the day's requests to check one by one against `/generation` (default 5). */
      sample: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
  /**
   * Extra headers sent upstream on every call (e.g. OpenRouter's HTTP-Referer). Never a credential: the config
   * is stored as plain items and logged by name, keys are not masked there — they belong in the provider keys.
   */
  headers: z
    .record(
      z
        .string()
        .max(128)
        .refine(
          (name) => !CREDENTIAL_HEADER.test(name),
          'a header that carries a credential: put the key into the provider keys (SWITCHYARD_PROVIDER_KEYS or the secret), not into the config',
        ),
      z.string().max(4096),
    )
    .optional(),
  /** Breaker and cool-down settings for this provider's targets (a route's own `health` wins). */
  health: healthSchema.optional(),
  /** AWS region of a `bedrock` provider (required for it). */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1')
    .optional(),
  /** `max_tokens` sent when the client sets none, to providers that require one (anthropic); default 4096. */
  maxTokens: z.number().int().positive().optional(),
  /**
   * `openai` type: the OpenAI paths this provider serves natively (the client's request forwarded as sent);
   * the others are translated to chat. Default: chat, embeddings and responses (a preset may narrow it).
   */
  endpoints: z.array(z.enum(OPENAI_ENDPOINTS)).min(1).optional(),
});

/** A route's `maxInputTokens` when it sets none (2^20, the 1M-token context windows). */
export const DEFAULT_MAX_INPUT_TOKENS = 1_048_576;
/** The largest per-choice output of the common models (see the route's `maxOutputTokens`). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 131_072;

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
  /**
   * The order targets are tried in: as written (`fallback`), a weighted draw (`weighted`), the fastest healthy
   * target first with a little exploration (`latency`), or the cheapest priced target first (`cost`). Every
   * strategy keeps the others as fallbacks and skips a target whose breaker is open or that is cooling down.
   */
  strategy: z.enum(['fallback', 'weighted', 'latency', 'cost']).default('fallback'),
  targets: z.array(target).min(1),
  health: healthSchema.optional(),
  timeouts: timeouts.default(timeouts.parse({})),
  retry: retry.default(retry.parse({})),
  /**
   * A stream whose client left: `drain` keeps reading the upstream (bounded by `timeouts.totalMs`) to learn
   * the true usage for the ledger; `abort` stops it at once (saves the wait, bills by estimate).
   */
  onClientDisconnect: z.enum(['drain', 'abort']).default('drain'),
  /** Output tokens a budget reservation assumes when neither the client nor the adapter caps the answer. */
  reserveOutputTokens: z.number().int().positive().default(4096),
  /**
   * A larger non-stream answer fails its attempt (next target; 502 `upstream_response_too_large` when last)
   * instead of being held in memory: one 100 MB answer cost ~280 MB of RSS, which stayed. 32 MiB by default;
   * an embeddings route with big float batches may raise it (or ask for base64).
   */
  maxResponseBytes: z
    .number()
    .int()
    .positive()
    .max(1024 * 1024 * 1024)
    .default(32 * 1024 * 1024),
  /**
   * The most input tokens any target of the route can read (its largest context window): the bound of input
   * whose size cannot be known from the request (a `file` part, an unknown part type), and the ceiling of
   * every input bound. The default, 1,048,576, is the largest context window of the common models (Gemini
   * 2.x, GPT-4.1); a route whose targets read more must say so for budgets to hold.
   */
  maxInputTokens: z.number().int().positive().default(DEFAULT_MAX_INPUT_TOKENS),
  /**
   * The most output tokens any target of the route writes per choice when the request sends no cap (the
   * model's own limit): a reported output above it cannot be true and is charged at it. 131,072 by default,
   * the largest output limit of the common models (GPT-5, o-series, Claude's extended output).
   */
  maxOutputTokens: z.number().int().positive().default(DEFAULT_MAX_OUTPUT_TOKENS),
});

const price = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cachedInput: z.number().min(0).optional(),
  /** Input tokens written to a prompt cache (Anthropic: 1.25× input for 5-minute writes); default `input`. */
  cacheWriteInput: z.number().min(0).optional(),
  /**
   * Input tokens one image part may cost on this model, whatever its `detail`: replaces the documented worst
   * case of functions/core/usage/image-tokens.ts in budget reservations (a model the table does not know).
   */
  imageTokens: z.number().int().positive().optional(),
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

const presetOf = (p: { readonly preset?: string | undefined }): Preset | undefined =>
  p.preset === undefined ? undefined : own(PRESETS, p.preset);

export const configSchema = configShape
  .superRefine((cfg, ctx) => {
    for (const [id, p] of Object.entries(cfg.providers)) {
      const at = (field: string) => ['providers', id, field];
      if (p.preset !== undefined && !Object.hasOwn(PRESETS, p.preset)) {
        ctx.addIssue({
          code: 'custom',
          path: at('preset'),
          message: `unknown preset "${p.preset}" (known: ${Object.keys(PRESETS).join(', ')})`,
        });
        continue;
      }
      const preset = presetOf(p);
      const type = p.type ?? preset?.type;
      if (type === undefined) {
        ctx.addIssue({ code: 'custom', path: at('type'), message: 'required (or a preset, which gives it)' });
        continue;
      }
      if (preset !== undefined && p.type !== undefined && p.type !== preset.type) {
        ctx.addIssue({
          code: 'custom',
          path: at('type'),
          message: `preset "${p.preset}" is of type ${preset.type}, not ${p.type}`,
        });
      }
      if (p.endpoints !== undefined && type !== 'openai') {
        ctx.addIssue({
          code: 'custom',
          path: at('endpoints'),
          message: 'only a provider of type openai has it',
        });
      } else if (p.endpoints !== undefined && !p.endpoints.includes('chat')) {
        // Chat is what every other endpoint is translated to: a provider without it could serve nothing else.
        ctx.addIssue({ code: 'custom', path: at('endpoints'), message: 'must include chat' });
      }
      if (type === 'bedrock' && p.region === undefined) {
        ctx.addIssue({ code: 'custom', path: at('region'), message: 'required for a bedrock provider' });
      }
      const hasUrls =
        p.baseUrls !== undefined ||
        preset?.baseUrls !== undefined ||
        type === 'mock' ||
        type === 'bedrock' ||
        NATIVE_BASE_URLS[type] !== undefined;
      if (!hasUrls) {
        ctx.addIssue({
          code: 'custom',
          path: at('baseUrls'),
          message: `required (${preset?.baseUrlHint ?? 'no preset gives it'})`,
        });
      }
    }
    for (const [name, r] of Object.entries(cfg.routes)) {
      r.targets.forEach((t, i) => {
        if (!Object.hasOwn(cfg.providers, t.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', name, 'targets', i, 'provider'],
            message: `unknown provider "${t.provider}"`,
          });
        }
      });
    }
  })
  // The type a preset gives is written in, so everything after validation sees one `type`.
  .transform((cfg) => ({
    ...cfg,
    providers: Object.fromEntries(
      Object.entries(cfg.providers).map(([id, p]) => [
        id,
        { ...p, type: (p.type ?? presetOf(p)?.type) as ProviderType },
      ]),
    ),
  }));

export type GatewayConfig = z.infer<typeof configSchema>;
export type ProviderConfig = GatewayConfig['providers'][string];
export type RouteConfig = GatewayConfig['routes'][string];
export type TargetConfig = RouteConfig['targets'][number];
export type Timeouts = RouteConfig['timeouts'];
export type RetryConfig = RouteConfig['retry'];
export type PriceConfig = GatewayConfig['prices'][string];

/** One problem of a config, where it is: the path of the field (what the admin API maps to a YAML line). */
export interface ConfigIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
    readonly details: readonly ConfigIssue[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Names that are properties of every JavaScript object (`constructor`, `__proto__`, `toString`, …). A route,
 * provider or price by such a name would be found — or lost — through the prototype rather than the config;
 * every lookup is an own-property one, and the config refuses them outright.
 */
const BUILT_IN_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;

/** Route names are the model names clients send: bounded like the request field they are matched with. */
export const MAX_ROUTE_NAME = 256;

function nameIssues(input: unknown): (ConfigIssue & { readonly text: string })[] {
  if (typeof input !== 'object' || input === null) return [];
  const out: (ConfigIssue & { readonly text: string })[] = [];
  const push = (path: PropertyKey[], label: string, message: string) =>
    out.push({ path, message, text: `${label}: ${message}` });
  for (const section of ['providers', 'routes', 'prices'] as const) {
    const entries: unknown = Object.hasOwn(input, section)
      ? (input as Record<string, unknown>)[section]
      : undefined;
    if (typeof entries !== 'object' || entries === null) continue;
    // A YAML/JSON `__proto__:` key is an own key of the parsed object; one assigned as a prototype shows there.
    const proto = Object.getPrototypeOf(entries);
    if (proto !== Object.prototype && proto !== null)
      push([section, '__proto__'], `${section}.__proto__`, 'a reserved name');
    for (const name of Object.keys(entries)) {
      if (BUILT_IN_NAMES.has(name)) {
        const why = `"${name}" is a built-in property name of JavaScript objects; choose another name`;
        push([section, name], `${section}.${name}`, why);
      } else if (section === 'routes' && name.length > MAX_ROUTE_NAME) {
        const why = `route names are at most ${MAX_ROUTE_NAME} characters`;
        push([section, name], `${section}.${name.slice(0, 32)}…`, why);
      } else if (section === 'routes' && CONTROL_CHAR.test(name)) {
        push([section, name], `${section}.${JSON.stringify(name)}`, 'route names have no control characters');
      }
    }
  }
  return out;
}

/** Validates parsed YAML/JSON; throws {@link ConfigError} whose lines are `path: message`. */
export function parseConfig(input: unknown, source = 'config'): GatewayConfig {
  const reserved = nameIssues(input);
  if (reserved.length > 0) {
    const texts = reserved.map((r) => r.text);
    throw new ConfigError(`Invalid ${source}:\n  ${texts.join('\n  ')}`, texts, reserved);
  }
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path,
    // A bad record key (e.g. a provider id) carries its reason one level down.
    message: i.code === 'invalid_key' ? i.issues.map((k) => k.message).join('; ') : i.message,
  }));
  const issues = details.map((d) => `${d.path.map(String).join('.') || '(root)'}: ${d.message}`);
  throw new ConfigError(`Invalid ${source}:\n  ${issues.join('\n  ')}`, issues, details);
}

const MOCK_BASE_URLS = ['mock://in-process'];

/** The Bedrock runtime endpoint of a region: a bedrock provider's default base URL. */
export function bedrockBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/** Base URLs of a provider: its own list, else its preset's, else its type's public API host. */
export function baseUrlsOf(p: ProviderConfig): readonly string[] {
  if (p.type === 'mock') return MOCK_BASE_URLS;
  if (p.baseUrls !== undefined) return p.baseUrls;
  const preset = presetOf(p)?.baseUrls;
  if (preset !== undefined) return preset;
  if (p.type === 'bedrock') return [bedrockBaseUrl(p.region ?? 'us-east-1')];
  return NATIVE_BASE_URLS[p.type] ?? [];
}

/**
 * The OpenAI paths a provider serves natively: its own `endpoints`, else its preset's, else the type's
 * (openai: all three; mock, which is in-process: chat and embeddings; other types: none).
 */
export function nativeEndpointsOf(p: ProviderConfig): readonly OpenAIEndpoint[] {
  if (p.type === 'mock') return ['chat', 'embeddings'];
  if (p.type !== 'openai') return [];
  return p.endpoints ?? presetOf(p)?.endpoints ?? OPENAI_ENDPOINTS;
}

/** How the reconciler reads this provider's bill: its own `billing`, else its preset's, else `none`. */
export type BillingConfig = NonNullable<ProviderConfig['billing']>;

export function billingOf(p: ProviderConfig): BillingConfig {
  const preset = presetOf(p)?.billing;
  if (p.billing === undefined) return preset ?? { type: 'none' };
  // The preset's currency still holds when the config only adds options to the same billing type.
  return preset !== undefined && preset.type === p.billing.type && preset.currency !== undefined
    ? { currency: preset.currency, ...p.billing }
    : p.billing;
}
