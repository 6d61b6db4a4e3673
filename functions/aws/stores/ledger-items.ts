/**
 * The usage table's items (layout in functions/core/stores/tables.ts): a request record ⇄ its item, the
 * aggregate key and counters of a record, and the shard of a record id.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { UsageRecord } from '../../core/usage/types.ts';

export type Item = Record<string, AttributeValue>;

/**
 * Every field of a UsageRecord with its kind; the item keeps them under the same names. `?` is null when
 * absent, `-` is left out when absent (a field newer records carry only when it applies).
 */
const FIELDS = {
  requestId: 'S',
  recordId: 'S',
  time: 'S',
  keyId: 'S',
  endpoint: 'S',
  route: 'S?',
  provider: 'S?',
  model: 'S?',
  status: 'N',
  errorCode: 'S?',
  inputTokens: 'N',
  outputTokens: 'N',
  cachedInputTokens: 'N',
  cacheWriteTokens: 'N',
  reasoningTokens: 'N',
  costUsd: 'N?',
  priceVersion: 'S?',
  latencyMs: 'N',
  ttftMs: 'N?',
  attempts: 'N',
  stream: 'B',
  usageSource: 'S',
  upstreamId: 'S?',
  implausible: 'S-',
  reservation: 'O-',
  tried: 'O-',
} as const satisfies Record<keyof UsageRecord, 'S' | 'S?' | 'S-' | 'O-' | 'N' | 'N?' | 'B'>;

/**
 * What fields added after records were first written read as in an item without them — the defaults of
 * functions/core/usage/record-schema.ts, so a stored record and a spooled one of the same age read the same.
 */
const BEFORE_THE_FIELD: Partial<Record<keyof UsageRecord, string | number>> = {
  endpoint: 'chat',
  cacheWriteTokens: 0,
};

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

/**
 * The record as one JSON attribute (`doc`) beside its keys: seven attributes instead of twenty-seven made
 * each batch several times cheaper to serialise (SDK) and store (dynalite), per the ledger's bench. Nothing
 * filters on record fields in DynamoDB; readers parse `doc`, and sums come from the aggregates.
 */
export function recordItem(
  r: UsageRecord,
  shards: number,
  retentionDays: number,
  aggregated: boolean | undefined,
): Item {
  return {
    ...recordKey(r),
    gsi1pk: { S: `${dayOf(r)}#${shardOf(r.recordId, shards)}` },
    gsi1sk: { S: `${r.time}#${r.recordId}` },
    expiresAt: { N: String(Math.floor(Date.parse(r.time) / 1000) + retentionDays * 86_400) },
    // Left out when the table's stream folds the record (no flag to keep: the stream is the to-do list).
    ...(aggregated === undefined ? {} : { aggregated: { BOOL: aggregated } }),
    doc: { S: JSON.stringify(r) },
  };
}

export function recordFromItem(item: Item): UsageRecord {
  const out = JSON.parse(item.doc?.S ?? '{}') as Record<string, unknown>;
  // The same field order and nulls as the interface, whatever wrote the document.
  return Object.fromEntries(
    (Object.entries(FIELDS) as [keyof UsageRecord, string][]).flatMap(([k, kind]) =>
      kind.endsWith('-') && out[k] == null ? [] : [[k, out[k] ?? BEFORE_THE_FIELD[k] ?? null]],
    ),
  ) as unknown as UsageRecord;
}

/** Counters a record adds to its day's aggregate. */
export function countersOf(r: UsageRecord): Record<string, number> {
  return {
    requests: 1,
    errors: r.status >= 400 ? 1 : 0,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cachedInputTokens: r.cachedInputTokens,
    cacheWriteTokens: r.cacheWriteTokens,
    reasoningTokens: r.reasoningTokens,
    costUsd: r.costUsd ?? 0,
    unpricedRequests: r.costUsd === null && r.usageSource !== 'none' ? 1 : 0,
    estimatedRequests: r.usageSource === 'estimated' ? 1 : 0,
    implausibleRequests: r.implausible === undefined ? 0 : 1,
    // Estimated usage apart (statements show it beside the provider-reported part).
    estimatedInputTokens: r.usageSource === 'estimated' ? r.inputTokens : 0,
    estimatedOutputTokens: r.usageSource === 'estimated' ? r.outputTokens : 0,
    estimatedCostUsd: r.usageSource === 'estimated' ? (r.costUsd ?? 0) : 0,
  };
}

export const COUNTERS = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  'costUsd',
  'unpricedRequests',
  'estimatedRequests',
  'implausibleRequests',
  'estimatedInputTokens',
  'estimatedOutputTokens',
  'estimatedCostUsd',
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

/**
 * Sums of USD are rounded to 1e-10 (float noise of many additions); token counts are integers and are left
 * alone: rounding them the same way is not exact once v × 1e10 passes 2^53 (from about 10^9 tokens, a busy
 * day's aggregate), and turned 10^15 into 1000000000000000.1.
 */
export const roundCounter = (counter: string, v: number): number =>
  counter.endsWith('Usd') ? Math.round(v * 1e10) / 1e10 : v;

export interface AggregateGuard {
  /** The attribute the ADD sets, on condition that it does not exist yet: the proof the records were added. */
  readonly mark: string;
  /** Its value (default `true`): the stream fold keeps the last sequence number it added there. */
  readonly value?: AttributeValue;
  /** A second attribute whose presence also means "added already". */
  readonly unless?: string | undefined;
  /** Marks no longer needed, removed by the same call. */
  readonly remove?: readonly string[];
}

/**
 * The one UpdateItem that adds records (all of one aggregate key) into their aggregate: the summed counters
 * ADDed and the dimensions SET in one atomic call, guarded by `guard.mark`.
 */
export function aggregateUpdate(
  records: readonly UsageRecord[],
  shards: number,
  guard: AggregateGuard,
): {
  Key: Item;
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Item;
} {
  const first = records[0];
  if (first === undefined) throw new Error('aggregateUpdate: no records');
  const { key, dims } = aggregateKey(first, shards);
  const sums: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(countersOf(r))) sums[k] = (sums[k] ?? 0) + v;
  const values: Item = { ':t': guard.value ?? { BOOL: true } };
  for (const c of COUNTERS) values[`:${c}`] = { N: String(roundCounter(c, sums[c] ?? 0)) };
  // The price versions the records were charged at (a string set: statements list them per line).
  const versions = [...new Set(records.flatMap((r) => (r.priceVersion === null ? [] : [r.priceVersion])))];
  if (versions.length > 0) values[':pv'] = { SS: versions };
  for (const [k, v] of Object.entries(dims)) values[`:${k}`] = v;
  const names: Record<string, string> = { '#day': 'day', '#m': guard.mark };
  let condition = 'attribute_not_exists(#m)';
  if (guard.unless !== undefined) {
    names['#u'] = guard.unless;
    condition += ' AND attribute_not_exists(#u)';
  }
  // A mark is never removed by the write that sets or tests it (a finished batch written again).
  const remove = (guard.remove ?? []).filter((t) => t !== guard.mark && t !== guard.unless);
  remove.forEach((t, i) => {
    names[`#t${i}`] = t;
  });
  const removal = remove.length === 0 ? '' : ` REMOVE ${remove.map((_, i) => `#t${i}`).join(', ')}`;
  return {
    Key: key,
    UpdateExpression: `SET #day = :day, keyId = :keyId, provider = :provider, model = :model, #m = :t ADD ${COUNTERS.map((c) => `${c} :${c}`).join(', ')}${versions.length > 0 ? ', priceVersions :pv' : ''}${removal}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
