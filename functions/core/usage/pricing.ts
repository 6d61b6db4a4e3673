/**
 * Prices (USD per 1M tokens, keyed `provider/model`) → the cost of a request. A request with no price is
 * recorded with cost null and counted, never priced at 0.
 */
import { createHash } from 'node:crypto';
import type { GatewayConfig, PriceConfig, RouteConfig } from '../config/schema.ts';
import type { Usage } from '../providers/types.ts';

export interface Priced {
  readonly price: PriceConfig;
  readonly version: string;
}

const versions = new WeakMap<PriceConfig, string>();

/** The price entry's own `version`, else the first 12 hex digits of a digest of its numbers. */
function versionOf(price: PriceConfig): string {
  if (price.version !== undefined) return price.version;
  let v = versions.get(price);
  if (v === undefined) {
    const text = `${price.input}/${price.output}/${price.cachedInput ?? ''}/${price.cacheWriteInput ?? ''}`;
    v = createHash('sha256').update(text).digest('hex').slice(0, 12);
    versions.set(price, v);
  }
  return v;
}

export function priceOf(config: GatewayConfig, provider: string, model: string): Priced | undefined {
  const price = config.prices[`${provider}/${model}`];
  return price === undefined ? undefined : { price, version: versionOf(price) };
}

/**
 * USD of a usage: cached input tokens at the cached price and cache writes at the cache-write price (each the
 * input price when none is set), the rest of the input at the input price, output at the output price. Reasoning tokens are part of the output count
 * (OpenAI reports them inside completion_tokens), so they are not added again. Rounded to 1e-10 USD so that
 * sums of many records stay exact enough to compare with a bill.
 */
export function costOf(usage: Usage, price: PriceConfig): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const writes = Math.min(usage.cacheWriteTokens ?? 0, usage.inputTokens - cached);
  const usd =
    ((usage.inputTokens - cached - writes) * price.input +
      cached * (price.cachedInput ?? price.input) +
      writes * (price.cacheWriteInput ?? price.input) +
      usage.outputTokens * price.output) /
    1e6;
  return Math.round(usd * 1e10) / 1e10;
}

/**
 * The most a request can cost, for a budget reservation: the input estimate at the route's highest input
 * price plus its output cap (`max_completion_tokens`/`max_tokens`, else the route's `reserveOutputTokens`)
 * times `n` (each of the n choices may use the whole cap; the prompt is billed once) at the highest output
 * price. Targets without a price add nothing (their requests are recorded unpriced).
 */
export function maxCostOf(
  config: GatewayConfig,
  route: RouteConfig,
  inputTokens: number,
  body: Readonly<Record<string, unknown>>,
): number {
  const cap = body.max_completion_tokens ?? body.max_tokens;
  const perChoice = typeof cap === 'number' && cap > 0 ? cap : route.reserveOutputTokens;
  const choices = typeof body.n === 'number' && body.n > 1 ? Math.floor(body.n) : 1;
  const outputTokens = perChoice * choices;
  let most = 0;
  for (const t of route.targets) {
    const p = config.prices[`${t.provider}/${t.model}`];
    if (p !== undefined) most = Math.max(most, costOf({ inputTokens, outputTokens }, p));
  }
  return most;
}
