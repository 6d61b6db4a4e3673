/**
 * Prices (USD per 1M tokens, keyed `provider/model`) → the cost of a request. A request with no price is
 * recorded with cost null and counted, never priced at 0. What a request may cost at most (a budget's
 * reservation) is ./request-bounds.ts.
 */
import { createHash } from 'node:crypto';
import type { GatewayConfig, PriceConfig } from '../config/schema.ts';
import { own } from '../json.ts';
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
  const price = own(config.prices, `${provider}/${model}`);
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
