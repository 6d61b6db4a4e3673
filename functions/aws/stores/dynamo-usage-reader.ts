/**
 * The read side of the usage ledger (functions/aws/stores/dynamo-ledger.ts writes it): the daily aggregates
 * summed over their shards, and the records of a time window through the `byTime` index, whole, page by page,
 * or the oldest few.
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { daysBetween } from '../../core/days.ts';
import type { UsageAggregate, UsageReader, UsageRecord } from '../../core/usage/types.ts';
import { COUNTERS, type Item, recordFromItem, roundCounter } from './ledger-items.ts';

/** Records per page of a window read page by page. */
const RECORD_PAGE = 200;

export class DynamoUsageReader implements UsageReader {
  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
    private readonly shards: number,
  ) {}

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
    return Array.from({ length: this.shards }, (_, i) => i);
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
      for (const c of COUNTERS) acc[c] = roundCounter(c, Number(acc[c]) + Number(item[c]?.N ?? '0'));
      const versions = item.priceVersions?.SS;
      if (versions !== undefined)
        acc.priceVersions = [...new Set([...String(acc.priceVersions ?? '').split('\n'), ...versions])]
          .filter((v) => v !== '')
          .sort()
          .join('\n');
      byKey.set(id, acc);
    }
    return [...byKey.values()]
      .map((a) => {
        const { priceVersions, ...rest } = a;
        return (priceVersions === undefined
          ? rest
          : { ...rest, priceVersions: String(priceVersions).split('\n') }) as unknown as UsageAggregate;
      })
      .sort((a, b) =>
        `${a.day}|${a.keyId}|${a.provider}|${a.model}`.localeCompare(
          `${b.day}|${b.keyId}|${b.provider}|${b.model}`,
        ),
      );
  }

  async recordsOf(requestId: string): Promise<UsageRecord[]> {
    const items = await this.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `req#${requestId}` } },
    });
    return items.map(recordFromItem);
  }

  /** The `byTime` index query of one shard's records of one day in [sinceIso, untilIso]. */
  private byTime(day: string, shard: number, sinceIso: string, untilIso: string) {
    return {
      TableName: this.tableName,
      IndexName: 'byTime',
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :a AND :b',
      ExpressionAttributeValues: {
        ':pk': { S: `${day}#${shard}` },
        ':a': { S: sinceIso },
        ':b': { S: untilIso },
      },
    };
  }

  /** One shard's records of one day in [sinceIso, untilIso], oldest first, a page at a time. */
  private async *shardPages(day: string, shard: number, sinceIso: string, untilIso: string) {
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...this.byTime(day, shard, sinceIso, untilIso),
          ExclusiveStartKey: start,
          Limit: RECORD_PAGE,
        }),
      );
      yield (page.Items ?? []).map(recordFromItem).filter((r) => r.time >= sinceIso && r.time < untilIso);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  /**
   * Every record in [sinceIso, untilIso), handed to `visit` a page at a time (no order across shards): what
   * reads a window without holding it in memory (the reconciler's snapshot windows).
   */
  async eachRecord(sinceIso: string, untilIso: string, visit: (r: UsageRecord) => void): Promise<void> {
    if (untilIso <= sinceIso) return;
    for (const day of daysBetween(sinceIso, untilIso))
      for (const shard of this.shardList())
        for await (const page of this.shardPages(day, shard, sinceIso, untilIso))
          for (const r of page) visit(r);
  }

  /**
   * The oldest `n` records in [sinceIso, untilIso) that `match`: each shard is read, oldest first, only until it
   * has `n` of them (the oldest `n` overall are among those), day by day until a day has found them.
   */
  async firstRecords(
    sinceIso: string,
    untilIso: string,
    n: number,
    match: (r: UsageRecord) => boolean,
  ): Promise<UsageRecord[]> {
    if (untilIso <= sinceIso || n <= 0) return [];
    const found: UsageRecord[] = [];
    for (const day of daysBetween(sinceIso, untilIso)) {
      const perShard = await Promise.all(
        this.shardList().map(async (shard) => {
          const out: UsageRecord[] = [];
          for await (const page of this.shardPages(day, shard, sinceIso, untilIso)) {
            for (const r of page) if (match(r) && out.length < n) out.push(r);
            if (out.length >= n) break;
          }
          return out;
        }),
      );
      found.push(...perShard.flat());
      if (found.length >= n) break;
    }
    return found
      .sort((a, b) => a.time.localeCompare(b.time) || a.recordId.localeCompare(b.recordId))
      .slice(0, n);
  }

  async records(sinceIso: string, untilIso: string): Promise<UsageRecord[]> {
    if (untilIso <= sinceIso) return [];
    const pages = await Promise.all(
      daysBetween(sinceIso, untilIso).flatMap((day) =>
        this.shardList().map((shard) => this.query(this.byTime(day, shard, sinceIso, untilIso))),
      ),
    );
    return pages
      .flat()
      .map(recordFromItem)
      .filter((r) => r.time >= sinceIso && r.time < untilIso)
      .sort((a, b) => a.time.localeCompare(b.time) || a.recordId.localeCompare(b.recordId));
  }
}
