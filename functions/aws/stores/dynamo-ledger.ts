/**
 * The usage ledger in DynamoDB (dynalite locally): request records written once with a condition, per-day
 * aggregates by key, provider and model added atomically, sharded over N partitions. Item layouts are in
 * functions/core/stores/tables.ts and ./ledger-items.ts.
 *
 * Exactly once, nearly: a record is put with `aggregated = false`, added into its aggregate, then marked.
 * Writing it again (a retry, a replay) finds it and only finishes a missing aggregation. The one window
 * left: a crash after the `ADD` and before the mark, after which a replay adds the record twice. DynamoDB
 * transactions would close it, but dynalite (the local store) has none, and one code path matters more.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { LedgerStore, UsageAggregate, UsageReader, UsageRecord } from '../../core/usage/types.ts';
import {
  aggregateKey,
  COUNTERS,
  countersOf,
  type Item,
  recordFromItem,
  recordItem,
  recordKey,
} from './ledger-items.ts';

export interface LedgerOptions {
  readonly shards: number;
  readonly retentionDays: number;
}

const round = (v: number): number => Math.round(v * 1e10) / 1e10;
const batchKey = (batchId: string): Item => ({ pk: { S: `batch#${batchId}` }, sk: { S: '-' } });

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** UTC days from `from` to `to` (YYYY-MM-DD), inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
  for (let t = Date.parse(`${from.slice(0, 10)}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export class DynamoLedger implements LedgerStore, UsageReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly opts: LedgerOptions,
  ) {}

  async write(record: UsageRecord): Promise<'written' | 'duplicate'> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: recordItem(record, this.opts.shards, this.opts.retentionDays, false),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const existing = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: recordKey(record), ConsistentRead: true }),
      );
      const item = existing.Item;
      if (item?.aggregated?.BOOL === false && !(await this.batchDone(item.batch?.S)))
        await this.aggregate(record);
      return 'duplicate';
    }
    await this.aggregate(record);
    return 'written';
  }

  /** Adds the record into its aggregate, then marks it, on condition it was not marked yet. */
  private async aggregate(record: UsageRecord): Promise<void> {
    await this.add([record]);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: recordKey(record),
          UpdateExpression: 'SET aggregated = :t',
          ConditionExpression: 'aggregated = :f',
          ExpressionAttributeValues: { ':t': { BOOL: true }, ':f': { BOOL: false } },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** One atomic ADD of the records' summed counters (all records share one aggregate key). */
  private async add(records: readonly UsageRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const { key, dims } = aggregateKey(first, this.opts.shards);
    const sums: Record<string, number> = {};
    for (const r of records) for (const [k, v] of Object.entries(countersOf(r))) sums[k] = (sums[k] ?? 0) + v;
    const values: Record<string, AttributeValue> = {};
    for (const c of COUNTERS) values[`:${c}`] = { N: String(round(sums[c] ?? 0)) };
    for (const [k, v] of Object.entries(dims)) values[`:${k}`] = v;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: `SET #day = :day, keyId = :keyId, provider = :provider, model = :model ADD ${COUNTERS.map((c) => `${c} :${c}`).join(', ')}`,
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: values,
      }),
    );
  }

  private async batchPut(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let batch: WriteRequest[] | undefined = items
        .slice(i, i + 25)
        .map((Item) => ({ PutRequest: { Item } }));
      for (let tries = 0; batch !== undefined && batch.length > 0; tries++) {
        if (tries > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** tries)));
        if (tries > 8) throw new Error('usage ledger: DynamoDB kept items unprocessed');
        const res: BatchWriteItemCommandOutput = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: batch } }),
        );
        batch = res.UnprocessedItems?.[this.tableName];
      }
    }
  }

  /** Whether the batch a record was written in finished its aggregation (its marker item exists). */
  private async batchDone(batchId: string | undefined): Promise<boolean> {
    if (batchId === undefined) return false;
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: batchKey(batchId), ConsistentRead: true }),
    );
    return res.Item !== undefined;
  }

  /**
   * Fresh records in one go (any number): put unmarked with the batch's id (25 per call), one ADD of the
   * pre-summed counters per aggregate, then one marker item for the whole batch instead of re-marking each
   * record. A failure part way leaves records whose batch has no marker: the caller's one-by-one `write`
   * then finishes them (an aggregate that was already added for some of them is the same window as above).
   */
  async writeBatch(records: readonly UsageRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const { shards, retentionDays } = this.opts;
    const batchId = first.recordId;
    await this.batchPut(
      records.map((r) => ({ ...recordItem(r, shards, retentionDays, false), batch: { S: batchId } })),
    );
    const groups = new Map<string, UsageRecord[]>();
    for (const r of records) {
      const { key } = aggregateKey(r, shards);
      const id = `${key.pk?.S}|${key.sk?.S}`;
      const g = groups.get(id);
      if (g === undefined) groups.set(id, [r]);
      else g.push(r);
    }
    for (const group of groups.values()) await this.add(group);
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...batchKey(batchId),
          records: { N: String(records.length) },
          expiresAt: { N: String(Math.floor(Date.parse(first.time) / 1000) + retentionDays * 86_400) },
        },
      }),
    );
  }

  private async query(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  private shardList(): number[] {
    return Array.from({ length: this.opts.shards }, (_, i) => i);
  }

  async aggregates(fromDay: string, toDay: string): Promise<UsageAggregate[]> {
    const pages = await Promise.all(
      daysBetween(fromDay, toDay).flatMap((day) =>
        this.shardList().map((shard) =>
          this.query({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `agg#${day}#${shard}` } },
          }),
        ),
      ),
    );
    const byKey = new Map<string, Record<string, number | string>>();
    for (const item of pages.flat()) {
      const dims = {
        day: item.day?.S ?? '',
        keyId: item.keyId?.S ?? '',
        provider: item.provider?.S ?? '-',
        model: item.model?.S ?? '-',
      };
      const id = `${dims.day}|${dims.keyId}|${dims.provider}|${dims.model}`;
      const acc = byKey.get(id) ?? { ...dims, ...Object.fromEntries(COUNTERS.map((c) => [c, 0])) };
      for (const c of COUNTERS) acc[c] = round(Number(acc[c]) + Number(item[c]?.N ?? '0'));
      byKey.set(id, acc);
    }
    return [...byKey.values()]
      .map((a) => a as unknown as UsageAggregate)
      .sort((a, b) =>
        `${a.day}|${a.keyId}|${a.provider}|${a.model}`.localeCompare(
          `${b.day}|${b.keyId}|${b.provider}|${b.model}`,
        ),
      );
  }

  async records(sinceIso: string, untilIso: string): Promise<UsageRecord[]> {
    if (untilIso <= sinceIso) return [];
    const pages = await Promise.all(
      daysBetween(sinceIso, untilIso).flatMap((day) =>
        this.shardList().map((shard) =>
          this.query({
            TableName: this.tableName,
            IndexName: 'byTime',
            KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :a AND :b',
            ExpressionAttributeValues: {
              ':pk': { S: `${day}#${shard}` },
              ':a': { S: sinceIso },
              ':b': { S: untilIso },
            },
          }),
        ),
      ),
    );
    return pages
      .flat()
      .map(recordFromItem)
      .filter((r) => r.time >= sinceIso && r.time < untilIso)
      .sort((a, b) => a.time.localeCompare(b.time) || a.recordId.localeCompare(b.recordId));
  }
}
