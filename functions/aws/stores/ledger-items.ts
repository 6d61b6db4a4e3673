/**
 * The usage table's items (layout in functions/core/stores/tables.ts): a request record ⇄ its item, the
 * aggregate key and counters of a record, and the shard of a record id.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { UsageRecord } from '../../core/usage/types.ts';

export type Item = Record<string, AttributeValue>;

/** Every field of a UsageRecord with its kind; the item keeps them under the same names. */
const FIELDS = {
  requestId: 'S',
  recordId: 'S',
  time: 'S',
  keyId: 'S',
  route: 'S?',
  provider: 'S?',
  model: 'S?',
  status: 'N',
  errorCode: 'S?',
  inputTokens: 'N',
  outputTokens: 'N',
  cachedInputTokens: 'N',
  reasoningTokens: 'N',
  costUsd: 'N?',
  priceVersion: 'S?',
  latencyMs: 'N',
  ttftMs: 'N?',
  attempts: 'N',
  stream: 'B',
  usageSource: 'S',
  upstreamId: 'S?',
} as const satisfies Record<keyof UsageRecord, 'S' | 'S?' | 'N' | 'N?' | 'B'>;

/** FNV-1a (32 bit) of the record id: a stable shard, the same in every process. */
export function shardOf(recordId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < recordId.length; i++) {
    h ^= recordId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

export const dayOf = (r: UsageRecord): string => r.time.slice(0, 10);

export function recordKey(r: Pick<UsageRecord, 'requestId' | 'recordId'>): Item {
  return { pk: { S: `req#${r.requestId}` }, sk: { S: r.recordId } };
}

export function recordItem(r: UsageRecord, shards: number, retentionDays: number, aggregated: boolean): Item {
  const item: Item = {
    ...recordKey(r),
    gsi1pk: { S: `${dayOf(r)}#${shardOf(r.recordId, shards)}` },
    gsi1sk: { S: `${r.time}#${r.recordId}` },
    expiresAt: { N: String(Math.floor(Date.parse(r.time) / 1000) + retentionDays * 86_400) },
    aggregated: { BOOL: aggregated },
  };
  for (const [name, kind] of Object.entries(FIELDS)) {
    const v = r[name as keyof UsageRecord];
    if (v === null) item[name] = { NULL: true };
    else if (kind === 'B') item[name] = { BOOL: v === true };
    else if (kind.startsWith('N')) item[name] = { N: String(v) };
    else item[name] = { S: String(v) };
  }
  return item;
}

export function recordFromItem(item: Item): UsageRecord {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(FIELDS)) {
    const v = item[name];
    if (v === undefined || v.NULL === true) out[name] = null;
    else if (kind === 'B') out[name] = v.BOOL === true;
    else if (kind.startsWith('N')) out[name] = Number(v.N);
    else out[name] = v.S;
  }
  return out as unknown as UsageRecord;
}

/** Counters a record adds to its day's aggregate. */
export function countersOf(r: UsageRecord): Record<string, number> {
  return {
    requests: 1,
    errors: r.status >= 400 ? 1 : 0,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cachedInputTokens: r.cachedInputTokens,
    reasoningTokens: r.reasoningTokens,
    costUsd: r.costUsd ?? 0,
    unpricedRequests: r.costUsd === null && r.usageSource !== 'none' ? 1 : 0,
    estimatedRequests: r.usageSource === 'estimated' ? 1 : 0,
  };
}

export const COUNTERS = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'reasoningTokens',
  'costUsd',
  'unpricedRequests',
  'estimatedRequests',
] as const;

/** The aggregate item a record adds into: `agg#<day>#<shard>` / `<keyId>#<provider>#<model>`. */
export function aggregateKey(r: UsageRecord, shards: number): { key: Item; dims: Item } {
  const provider = r.provider ?? '-';
  const model = r.model ?? '-';
  return {
    key: {
      pk: { S: `agg#${dayOf(r)}#${shardOf(r.recordId, shards)}` },
      sk: { S: `${r.keyId}#${provider}#${model}` },
    },
    dims: { day: { S: dayOf(r) }, keyId: { S: r.keyId }, provider: { S: provider }, model: { S: model } },
  };
}
