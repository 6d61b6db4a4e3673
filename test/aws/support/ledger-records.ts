/** Usage records for the DynamoLedger tests: each one new (its own request and record id), tweaked per test. */
import type { UsageRecord } from '../../../functions/core/usage/types.ts';

/** The shards the ledger under test spreads each day's aggregates over. */
export const SHARDS = 4;

let seq = 0;
/** A fresh record (ids and input tokens from a counter), with `over` on top. */
export function rec(over: Partial<UsageRecord> = {}): UsageRecord {
  const i = seq++;
  return {
    requestId: `req-${i}`,
    recordId: `rec-${String(i).padStart(5, '0')}`,
    time: '2026-10-01T12:00:00.000Z',
    keyId: 'key_a',
    endpoint: 'chat',
    route: 'r',
    provider: 'p',
    model: 'm',
    status: 200,
    errorCode: null,
    inputTokens: 10 + i,
    outputTokens: 5,
    cachedInputTokens: 1,
    cacheWriteTokens: 0,
    reasoningTokens: 2,
    costUsd: 0.0001,
    priceVersion: 'v',
    latencyMs: 12.5,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: null,
    ...over,
  };
}
