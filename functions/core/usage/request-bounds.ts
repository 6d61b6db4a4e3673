/**
 * What one request can cost at most, per target of its route: the bound of its input (./input-bound.ts), the
 * output cap that goes upstream with it, and the number of choices. A budget reserves the largest cost over
 * the route's priced targets; the target that answers has its reported usage checked against its own bounds
 * (./usage-check.ts).
 */
import type { GatewayConfig, ProviderConfig, ProviderType, RouteConfig } from '../config/schema.ts';
import { own } from '../json.ts';
import { DEFAULT_MAX_TOKENS } from '../providers/anthropic/request.ts';
import { inputBoundOf } from './input-bound.ts';
import { costOf } from './pricing.ts';

export interface TargetBounds {
  /** The most input tokens the request can be billed on this target. */
  readonly inputTokens: number;
  /** Output tokens per choice the upstream is told to stop at; undefined when no cap goes upstream. */
  readonly outputCap: number | undefined;
  /** The most output per choice that can be true: the cap sent, else the route's `maxOutputTokens`. */
  readonly outputLimit: number;
  /** Choices asked for (`n`); each may use the whole cap, the prompt is billed once. */
  readonly choices: number;
}

/**
 * The cap a native adapter sends when the client sets none, by provider type (undefined: none is sent, the
 * model's own limit applies). Anthropic requires one (./providers/anthropic/request.ts); the Bedrock adapter
 * sends the provider's `maxTokens` when configured; the OpenAI adapter forwards the client's body as it is.
 */
const ADAPTER_OUTPUT_CAP: Readonly<Record<ProviderType, (p: ProviderConfig) => number | undefined>> = {
  anthropic: (p) => p.maxTokens ?? DEFAULT_MAX_TOKENS,
  bedrock: (p) => p.maxTokens,
  gemini: () => undefined,
  openai: () => undefined,
  mock: () => undefined,
};

const positive = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);

/** The client's own output cap: the larger of `max_completion_tokens` and `max_tokens` when both are sent. */
export function clientOutputCap(body: Readonly<Record<string, unknown>>): number | undefined {
  const a = positive(body.max_completion_tokens);
  const b = positive(body.max_tokens);
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

export class RequestBounds {
  private readonly byTarget = new Map<string, TargetBounds>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly route: RouteConfig,
    private readonly op: 'chat' | 'embeddings',
    private readonly body: Readonly<Record<string, unknown>>,
    /** Input the body does not show (an earlier conversation the request continues), in tokens. */
    private readonly extraInputTokens = 0,
  ) {}

  /** The bounds of one target (computed once per target and request). */
  of(provider: string, model: string): TargetBounds {
    const id = `${provider}/${model}`;
    let b = this.byTarget.get(id);
    if (b !== undefined) return b;
    const p = own(this.config.providers, provider);
    const type = p?.type ?? 'openai';
    const inputTokens =
      inputBoundOf(this.op, this.body, {
        type,
        model,
        price: own(this.config.prices, id),
        maxInputTokens: this.route.maxInputTokens,
      }) + this.extraInputTokens;
    if (this.op === 'embeddings') b = { inputTokens, outputCap: 0, outputLimit: 0, choices: 1 };
    else {
      const n = this.body.n;
      const outputCap =
        clientOutputCap(this.body) ?? (p === undefined ? undefined : ADAPTER_OUTPUT_CAP[type](p));
      b = {
        inputTokens,
        outputCap,
        outputLimit: outputCap ?? this.route.maxOutputTokens,
        choices: typeof n === 'number' && n > 1 ? Math.floor(n) : 1,
      };
    }
    this.byTarget.set(id, b);
    return b;
  }

  /**
   * The reservation: over the route's priced targets, the largest of input bound × input price + output cap
   * (else the route's `reserveOutputTokens`) × choices × output price. Unpriced targets add nothing (their
   * requests are recorded unpriced).
   */
  reserveUsd(): number {
    let most = 0;
    for (const t of this.route.targets) {
      const price = own(this.config.prices, `${t.provider}/${t.model}`);
      if (price === undefined) continue;
      const b = this.of(t.provider, t.model);
      const outputTokens = (b.outputCap ?? this.route.reserveOutputTokens) * b.choices;
      // Every input token at the dearest input price the request could be billed at: a prompt written to a
      // provider's cache costs `cacheWriteInput` (Anthropic: 1.25× or 2× the input price).
      const input = Math.max(price.input, price.cacheWriteInput ?? 0, price.cachedInput ?? 0);
      most = Math.max(most, costOf({ inputTokens: b.inputTokens, outputTokens }, { ...price, input }));
    }
    return most;
  }
}
