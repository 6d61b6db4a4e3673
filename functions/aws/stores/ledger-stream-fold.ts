/**
 * The stack's ledger fold: the usage table's DynamoDB stream delivers each new request record, in batches,
 * to the fold function (functions/aws/ledger-fold-handler.ts), which adds a whole batch into the per-day
 * aggregates with one UpdateItem per aggregate. The gateway then writes one item per request (the record,
 * `DynamoLedger` in `fold: 'stream'` mode) instead of four calls, and an aggregate takes a few writes a second
 * whatever the request rate.
 *
 * Exactly once, with what Lambda guarantees for a stream (one batch of a stream shard at a time, in order; a
 * failed batch is retried from its first record, so the retry starts with the same records and may carry
 * more; no bisection — the event source mapping turns it off):
 * - the records of a batch that share an aggregate form a group, added by one UpdateItem that also SETs a
 *   mark named after the group's first stream record (`applied#s#<eventID>`), holding the sequence number
 *   of the group's last record, on condition that the mark does not exist;
 * - a retry (of the batch, or the SDK's resend of a call that landed) meets the mark: it reads the sequence
 *   number there and adds only the group's records after it, under a new mark; a duplicate delivery adds
 *   nothing.
 * Marks must outlive a possible redelivery, so a group's mark is removed by a later write of the same
 * instance into the same aggregate once its batch returned and {@link REDELIVERY_GRACE_MS} passed; a mark
 * whose records are older than the stream's 24 h retention (a dead instance's) is removed by any writer that
 * sees it. An aggregate thus carries about one mark per fold instance writing into it: tens of bytes each.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { UsageRecord } from '../../core/usage/types.ts';
import {
  type AggregateGuard,
  aggregateKey,
  aggregateUpdate,
  type Item,
  recordFromItem,
} from './ledger-items.ts';
import { limitItemOf, settleGuarded } from './limit-items.ts';

export interface StreamEntry {
  readonly record: UsageRecord;
  /** The stream record's id: names the mark of a group that starts with it. */
  readonly eventId: string;
  /** Its sequence number in its stream shard (digits, up to 40). */
  readonly seq: string;
  /** The stream record's ApproximateCreationDateTime, epoch seconds. */
  readonly createdS: number;
}

/** The fields of a DynamoDB stream record (as Lambda delivers it) the fold reads. */
export interface DynamoStreamRecord {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly ApproximateCreationDateTime?: number;
    readonly SequenceNumber?: string;
    readonly NewImage?: Record<string, unknown>;
  };
}

const MARK_PREFIX = 'applied#s#';
/** Sequence numbers are compared as strings: padded to DynamoDB's longest (40 digits). */
const SEQ_WIDTH = 40;
const padSeq = (seq: string): string => seq.padStart(SEQ_WIDTH, '0');
/** A batch that returned can still be redelivered for a moment (its answer lost): its marks wait this long. */
export const REDELIVERY_GRACE_MS = 60_000;
/** The stream keeps records 24 h: a mark whose last record is older than this can never be needed again. */
const STALE_MARK_S = 25 * 3600;
/** Aggregates written at once by one fold. */
const CONCURRENCY = 8;
/** Marks removed per write (keeps the expression small). */
const TIDY_PER_WRITE = 20;
/** Aggregates whose removable marks are remembered (the oldest forgotten first: a few bytes left behind). */
const TRACKED_AGGREGATES = 1_000;
/** Attempts per group before the batch fails (and the event source mapping retries it). */
const GROUP_TRIES = 4;

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** The new request records of a stream batch (INSERTs of `req#` items), in the batch's order. */
export function streamEntries(records: readonly DynamoStreamRecord[]): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const r of records) {
    const image = r.dynamodb?.NewImage as Item | undefined;
    if (r.eventName !== 'INSERT' || image === undefined) continue;
    if (!image.pk?.S?.startsWith('req#') || image.doc?.S === undefined) continue;
    const seq = r.dynamodb?.SequenceNumber;
    if (r.eventID === undefined || seq === undefined || !/^\d{1,40}$/.test(seq))
      throw new Error(`ledger fold: stream record without eventID or sequence number (${r.eventID ?? '?'})`);
    out.push({
      record: recordFromItem(image),
      eventId: r.eventID,
      seq,
      createdS: r.dynamodb?.ApproximateCreationDateTime ?? 0,
    });
  }
  return out;
}

interface Group {
  readonly id: string;
  entries: StreamEntry[];
  /** One guarded write of the records; when the mark was there already, the item as read. */
  apply(records: UsageRecord[], guard: AggregateGuard): Promise<{ item: Item | undefined } | undefined>;
}

export class LedgerStreamFold {
  /** Marks of the batch being folded: removable once it returned ({@link committed}). */
  private pending: { id: string; mark: string }[] = [];
  /** Per aggregate, marks this instance may remove in its next write there (with the time they became so). */
  private readonly removable = new Map<string, { mark: string; afterMs: number }[]>();
  /** Stats for tests and the bench. */
  readonly stats = { writes: 0, records: 0, skipped: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly opts: {
      readonly shards: number;
      /** The keys table, where records' budget reservations are settled (./limit-items.ts). */
      readonly limitsTable?: string;
      readonly nowMs?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.nowMs?.() ?? Date.now();
  }

  /** Adds a batch's records into their aggregates, each exactly once however often the batch comes. */
  async fold(entries: readonly StreamEntry[]): Promise<void> {
    this.pending = [];
    const groups = new Map<string, Group>();
    const ordered = [...entries].sort((a, b) => (padSeq(a.seq) < padSeq(b.seq) ? -1 : 1));
    const into = (id: string, e: StreamEntry, apply: Group['apply']) => {
      const g = groups.get(id);
      if (g === undefined) groups.set(id, { id, entries: [e], apply });
      else g.entries.push(e);
    };
    for (const e of ordered) {
      const key = aggregateKey(e.record, this.opts.shards).key;
      into(`${key.pk?.S}|${key.sk?.S}`, e, (records, guard) => this.addAggregate(key, records, guard));
      // A budget reservation is settled on its limit item, guarded the same way.
      const limit = limitItemOf(e.record);
      if (limit !== undefined) into(`lim|${limit}`, e, (records, guard) => this.settle(records, guard));
    }
    const queue = [...groups.values()];
    const worker = async (): Promise<void> => {
      for (let g = queue.shift(); g !== undefined; g = queue.shift()) await this.foldGroup(g);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  }

  /** The batch folded by the last {@link fold} returned to Lambda: its marks go after the grace period. */
  committed(): void {
    const after = this.now() + REDELIVERY_GRACE_MS;
    for (const { id, mark } of this.pending) this.remember(id, mark, after);
    this.pending = [];
  }

  private remember(id: string, mark: string, afterMs: number): void {
    const list = this.removable.get(id);
    if (list !== undefined) {
      list.push({ mark, afterMs });
      return;
    }
    if (this.removable.size >= TRACKED_AGGREGATES) {
      const oldest = this.removable.keys().next().value;
      if (oldest !== undefined) this.removable.delete(oldest);
    }
    this.removable.set(id, [{ mark, afterMs }]);
  }

  private async foldGroup(group: Group): Promise<void> {
    let rest = group.entries;
    for (let tries = 0; rest.length > 0; tries++) {
      if (tries >= GROUP_TRIES) throw new Error(`ledger fold: ${group.id} kept refusing its records`);
      const first = rest[0] as StreamEntry;
      const last = rest[rest.length - 1] as StreamEntry;
      const mark = `${MARK_PREFIX}${first.eventId}`;
      const tidy = this.tidyFor(group.id);
      const refused = await group.apply(
        rest.map((e) => e.record),
        { mark, value: { S: `${last.seq}|${last.createdS}` }, remove: tidy },
      );
      if (refused === undefined) {
        this.stats.writes++;
        this.stats.records += rest.length;
        this.pending.push({ id: group.id, mark });
        this.forget(group.id, tidy);
        return;
      }
      // This group (from its first record) was added before, up to the sequence number in its mark.
      const seq = refused.item?.[mark]?.S?.split('|')[0];
      if (seq === undefined) continue;
      const kept = rest.filter((e) => padSeq(e.seq) > padSeq(seq));
      this.stats.skipped += rest.length - kept.length;
      rest = kept;
    }
  }

  /** Adds records of one aggregate under the guard; the item as read when the mark was there already. */
  private async addAggregate(
    key: Item,
    records: UsageRecord[],
    guard: AggregateGuard,
  ): Promise<{ item: Item | undefined } | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          ...aggregateUpdate(records, this.opts.shards, guard),
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.noteStale(`${key.pk?.S}|${key.sk?.S}`, out.Attributes, guard.mark);
      return undefined;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const returned = (err as { Item?: Record<string, AttributeValue> }).Item;
      if (returned !== undefined) return { item: returned };
      const res = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return { item: res.Item };
    }
  }

  /** Settles the reservations of records of one limit item under the guard (./limit-items.ts). */
  private async settle(
    records: UsageRecord[],
    guard: AggregateGuard,
  ): Promise<{ item: Item | undefined } | undefined> {
    const table = this.opts.limitsTable;
    if (table === undefined)
      throw new Error('ledger fold: a record reserved a budget but no limits table is set');
    const out = await settleGuarded(this.client, table, records, guard);
    if (!out.applied) return { item: out.item };
    const first = records[0];
    if (first !== undefined) this.noteStale(`lim|${limitItemOf(first)}`, out.item, guard.mark);
    return undefined;
  }

  /** Marks this instance may remove in its next write into the aggregate. */
  private tidyFor(id: string): string[] {
    const now = this.now();
    return (this.removable.get(id) ?? [])
      .filter((m) => m.afterMs <= now)
      .slice(0, TIDY_PER_WRITE)
      .map((m) => m.mark);
  }

  private forget(id: string, removed: readonly string[]): void {
    if (removed.length === 0) return;
    const left = (this.removable.get(id) ?? []).filter((m) => !removed.includes(m.mark));
    if (left.length === 0) this.removable.delete(id);
    else this.removable.set(id, left);
  }

  /** Marks in the aggregate older than the stream's retention (left by instances gone): removable now. */
  private noteStale(id: string, item: Item | undefined, own: string): void {
    if (item === undefined) return;
    const cutoff = this.now() / 1000 - STALE_MARK_S;
    const known = new Set((this.removable.get(id) ?? []).map((m) => m.mark));
    for (const [name, value] of Object.entries(item)) {
      if (!name.startsWith(MARK_PREFIX) || name === own || known.has(name)) continue;
      const createdS = Number(value.S?.split('|')[1] ?? Number.NaN);
      if (createdS < cutoff) this.remember(id, name, 0);
    }
  }
}
