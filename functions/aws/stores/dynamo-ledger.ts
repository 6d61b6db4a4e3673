/**
 * The usage ledger in DynamoDB (dynalite locally): request records written once with a condition, per-day
 * aggregates by key, provider and model added atomically, sharded over N partitions. Item layouts are in
 * functions/core/stores/tables.ts and ./ledger-items.ts.
 *
 * Exactly once, whatever call fails: a record is put with `aggregated = false`, added into its aggregate,
 * then marked. The record and its aggregate are two items and dynalite has no transactions, so the
 * aggregate itself remembers what it took: the UpdateItem that ADDs the counters also SETs an attribute
 * named after the record (`applied#r#<recordId>`; a batch: `applied#b#<batchId>`), on condition that the
 * attribute does not exist yet. Adding again — a writer's retry, an SDK retry of a call that landed, a
 * replay after a crash before the mark — fails that condition and adds nothing. Once the record is marked
 * (a batch: its marker item written), the mark is the lasting proof and the attribute is removed again, so
 * an aggregate only carries the ids in flight and stays small (DynamoDB bills a write by the item's size).
 * The guard has to live in the counters' item; one attribute per id (not one string set) lets a batch's
 * id be removed by the next batch's ADD into the same aggregate (an UpdateItem cannot both add to and
 * delete from one set), so a flush costs no extra call. What stays behind — the last batch id of each
 * aggregate a process wrote, an id whose removal failed or whose process died after the mark — is a few
 * bytes, never a wrong count.
 */

import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { LedgerStore, UsageReader, UsageRecord } from '../../core/usage/types.ts';
import { DynamoUsageReader } from './dynamo-usage-reader.ts';
import { aggregateKey, aggregateUpdate, type Item, recordItem, recordKey } from './ledger-items.ts';
import { limitItemOf, limitKey, settleGuarded } from './limit-items.ts';

const limitKeyOf = (r: UsageRecord): Item => limitKey(r.keyId, r.reservation?.shard ?? 0);

export interface LedgerOptions {
  readonly shards: number;
  readonly retentionDays: number;
  /**
   * Who adds a record into its aggregate. `inline` (default; the local server, whose store has no streams):
   * the writer, as described above. `stream` (the stack): `write` is one conditional put and nothing else;
   * the table's DynamoDB stream delivers the record to the fold function (./ledger-stream-fold.ts), which adds
   * a whole batch per aggregate. Every writer of one table must use the table's mode.
   */
  readonly fold?: 'inline' | 'stream';
  /**
   * The keys table, where the fold settles the budget reservations records carry (./limit-items.ts). A
   * ledger without it refuses records with a reservation: their settlement has nowhere to go.
   */
  readonly limitsTable?: string;
}

const batchKey = (batchId: string): Item => ({ pk: { S: `batch#${batchId}` }, sk: { S: '-' } });
/** The attribute that shows an aggregate took a record or a batch (a batch's id is its first record's id). */
const recordMark = (recordId: string): string => `applied#r#${recordId}`;
const batchMark = (batchId: string): string => `applied#b#${batchId}`;
/** Finished batches' marks removed per ADD, and aggregates whose finished marks are remembered. */
const TIDY_PER_ADD = 20;
const TRACKED_AGGREGATES = 1_000;
const aggregateId = (key: Item): string => `${key.pk?.S}|${key.sk?.S}`;

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

export { daysBetween } from '../../core/days.ts';

/** The ledger: writes here, reads (aggregates, records) in {@link DynamoUsageReader}. */
export class DynamoLedger extends DynamoUsageReader implements LedgerStore, UsageReader {
  /** Per aggregate, the marks of batches this process finished: the next ADD into it removes them. */
  private readonly finished = new Map<string, string[]>();

  constructor(
    client: DynamoDBClient,
    tableName: string,
    private readonly opts: LedgerOptions,
  ) {
    super(client, tableName, opts.shards);
  }

  async write(record: UsageRecord): Promise<'written' | 'duplicate'> {
    const streamed = this.opts.fold === 'stream';
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: recordItem(record, this.opts.shards, this.opts.retentionDays, streamed ? undefined : false),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The first put of this record is in the stream already: the fold adds it (once).
      if (streamed) return 'duplicate';
      const existing = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: recordKey(record), ConsistentRead: true }),
      );
      const item = existing.Item;
      const batchId = item?.batch?.S;
      if (item?.aggregated?.BOOL === false && !(await this.batchDone(batchId)))
        await this.aggregate(record, batchId);
      return 'duplicate';
    }
    if (!streamed) await this.aggregate(record, undefined);
    return 'written';
  }

  /**
   * Adds the record into its aggregate unless the aggregate already took it (by its id, or by the id of the
   * batch it was written in), marks it, then lets the aggregate forget its id.
   */
  private async aggregate(record: UsageRecord, batchId: string | undefined): Promise<void> {
    const unless = batchId === undefined ? undefined : batchMark(batchId);
    await this.add([record], recordMark(record.recordId), unless);
    await this.settle([record], recordMark(record.recordId), unless);
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
    await this.forget(aggregateKey(record, this.opts.shards).key, recordMark(record.recordId));
    const limit = limitItemOf(record);
    if (limit !== undefined)
      await this.forget(limitKeyOf(record), recordMark(record.recordId), this.opts.limitsTable);
  }

  /**
   * Settles the reservations of records of one limit item with one guarded write (`settleGuarded`), removing
   * the marks of batches this process finished since its last write there.
   */
  private async settle(records: readonly UsageRecord[], mark: string, unless?: string): Promise<void> {
    const first = records[0];
    const limit = first === undefined ? undefined : limitItemOf(first);
    if (first === undefined || limit === undefined) return;
    const table = this.opts.limitsTable;
    if (table === undefined)
      throw new Error('usage ledger: a record reserved a budget but no limits table is set');
    const id = `lim|${limit}`;
    const tidy = (this.finished.get(id) ?? []).slice(0, TIDY_PER_ADD);
    await settleGuarded(this.client, table, records, { mark, unless, remove: tidy });
    this.untrack(id, tidy);
  }

  /**
   * One atomic ADD of the records' summed counters (all records share one aggregate key) that SETs `mark`
   * on the aggregate; nothing when `mark` (or `alsoUnless`) is there already. It also removes the marks of
   * batches finished since the last ADD into this aggregate.
   */
  private async add(records: readonly UsageRecord[], mark: string, alsoUnless?: string): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const id = aggregateId(aggregateKey(first, this.opts.shards).key);
    const tidy = (this.finished.get(id) ?? []).slice(0, TIDY_PER_ADD);
    const update = aggregateUpdate(records, this.opts.shards, { mark, unless: alsoUnless, remove: tidy });
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...update }));
    } catch (err) {
      // Already added: by an earlier try of this write, or by the batch the record was written in.
      if (!isConditionFailure(err)) throw err;
      return;
    }
    this.untrack(id, tidy);
  }

  /** Forgets finished marks a write removed. */
  private untrack(id: string, removed: readonly string[]): void {
    if (removed.length === 0) return;
    const left = (this.finished.get(id) ?? []).filter((t) => !removed.includes(t));
    if (left.length === 0) this.finished.delete(id);
    else this.finished.set(id, left);
  }

  /** Remembers a finished batch's mark on an aggregate, for the next ADD into it to remove. */
  private track(id: string, mark: string): void {
    const marks = this.finished.get(id);
    if (marks !== undefined) {
      marks.push(mark);
      return;
    }
    // An aggregate not written for long (an earlier day) keeps its last mark: a few bytes, and bounded memory.
    if (this.finished.size >= TRACKED_AGGREGATES) {
      const oldest = this.finished.keys().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
    this.finished.set(id, [mark]);
  }

  /**
   * Removes a marked record's `mark` from its aggregate. Best effort: a failure leaves a few bytes behind,
   * never a wrong count, so it does not fail the write.
   */
  private async forget(key: Item, mark: string, table = this.tableName): Promise<void> {
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'REMOVE #m',
          ExpressionAttributeNames: { '#m': mark },
        }),
      )
      .catch(() => undefined);
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
   * pre-summed counters per aggregate guarded by the batch's mark, then one marker item for the whole batch
   * instead of re-marking each record; the next ADD into each aggregate removes the batch's mark. Calling
   * it again with the same records after it threw finishes the batch without adding anything twice (the
   * puts are the same items, the ADDs that landed refuse, the marker is the same item); so does `write`
   * of each record. It never throws once the marker is written, so a finished batch is not written again.
   */
  async writeBatch(records: readonly UsageRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const { shards, retentionDays } = this.opts;
    if (this.opts.fold === 'stream') {
      // Put again, an item is the same item: no new INSERT in the stream, so nothing is folded twice.
      await this.batchPut(records.map((r) => recordItem(r, shards, retentionDays, undefined)));
      return;
    }
    const batchId = first.recordId;
    await this.batchPut(
      records.map((r) => ({ ...recordItem(r, shards, retentionDays, false), batch: { S: batchId } })),
    );
    const groups = new Map<string, UsageRecord[]>();
    for (const r of records) {
      const id = aggregateId(aggregateKey(r, shards).key);
      const g = groups.get(id);
      if (g === undefined) groups.set(id, [r]);
      else g.push(r);
    }
    for (const group of groups.values()) await this.add(group, batchMark(batchId));
    const limits = new Map<string, UsageRecord[]>();
    for (const r of records) {
      const id = limitItemOf(r);
      if (id === undefined) continue;
      const g = limits.get(`lim|${id}`);
      if (g === undefined) limits.set(`lim|${id}`, [r]);
      else g.push(r);
    }
    for (const group of limits.values()) await this.settle(group, batchMark(batchId));
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
    for (const id of [...groups.keys(), ...limits.keys()]) this.track(id, batchMark(batchId));
  }
}
