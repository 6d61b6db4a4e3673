/**
 * A key's limit items in the keys table (layout in functions/core/stores/tables.ts): one per limit shard,
 * `lim#<keyId>#<shard>`, each holding that shard's share of the key's rpm and budget:
 * - `n#<epoch minute>`: requests admitted in that minute;
 * - `c#<window>`: committed USD = spent + open reservations of the budget window (`2026-11`, `2026-11-24`,
 *   `total`);
 * - `sp#<window>`: spent USD, settled from the ledger records;
 * - `o#<window>#<bucket>`: the open reservations whose requests expire in that epoch minute, summed — no
 *   per-request entry, so the item does not grow with the requests in flight;
 * - `applied#…`: the ledger folds' marks (as on the aggregates: functions/aws/stores/dynamo-ledger.ts).
 * The admission (./dynamo-limit-store.ts) adds; the ledger folds settle each record's reservation
 * ({@link settlementUpdate}); a bucket whose minute has passed is closed: what is still open in it belongs to
 * requests that never produced a record (crashed), and is given back in one write.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { UsageRecord } from '../../core/usage/types.ts';
import type { AggregateGuard } from './ledger-items.ts';

export type Item = Record<string, AttributeValue>;

export const limitKey = (keyId: string, shard: number): Item => ({ pk: { S: `lim#${keyId}#${shard}` } });
export const rateAttr = (minute: number): string => `n#${minute}`;
export const committedAttr = (window: string): string => `c#${window}`;
export const spentAttr = (window: string): string => `sp#${window}`;
export const openAttr = (window: string, bucket: number): string => `o#${window}#${bucket}`;

/** USD as DynamoDB numbers: rounded to 1e-10 (float noise), decimal and exact in the store. */
export const usd = (v: number): string => String(Math.round(v * 1e10) / 1e10);

/** FNV-1a (32 bit) of the request's id: its limit shard, the same in every process. */
export function limitShardOf(requestKey: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < requestKey.length; i++) {
    h ^= requestKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** Shard `s`'s share of an integer limit over `shards`: the shares sum to the limit exactly. */
export function rateShare(rpm: number, shard: number, shards: number): number {
  return Math.floor(rpm / shards) + (shard < rpm % shards ? 1 : 0);
}

/** The limit item a record settles into, as `<keyId>#<shard>`; undefined when it reserved nothing. */
export function limitItemOf(r: UsageRecord): string | undefined {
  const res = r.reservation;
  return res === undefined ? undefined : `${r.keyId}#${res.shard}`;
}

/**
 * The one UpdateItem that settles records' reservations on one limit item: per window, committed moves by
 * cost − reservation and spent by the cost; per open bucket, the reservations leave it. A record whose bucket
 * was closed already (its reservation given back) adds its whole cost to committed and spent instead. It is
 * guarded like an aggregate's ADD; `closed` lists the buckets known closed (an attribute absent after a
 * refusal), and each bucket taken as open is required to still exist — a close racing the settlement makes the
 * call fail, and the caller tries again with that bucket closed.
 */
export function settlementUpdate(
  records: readonly UsageRecord[],
  guard: AggregateGuard,
  closed: ReadonlySet<string>,
): {
  Key: Item;
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Item;
} {
  const first = records[0]?.reservation;
  if (first === undefined || records[0] === undefined) throw new Error('settlementUpdate: no reservation');
  const committed = new Map<string, number>();
  const spent = new Map<string, number>();
  const open = new Map<string, number>();
  for (const r of records) {
    const res = r.reservation;
    if (res === undefined) continue;
    const cost = r.costUsd ?? 0;
    const bucket = openAttr(res.window, res.bucket);
    const isOpen = !closed.has(bucket);
    committed.set(res.window, (committed.get(res.window) ?? 0) + cost - (isOpen ? res.usd : 0));
    spent.set(res.window, (spent.get(res.window) ?? 0) + cost);
    if (isOpen) open.set(bucket, (open.get(bucket) ?? 0) - res.usd);
  }
  const names: Record<string, string> = { '#m': guard.mark };
  const values: Item = { ':t': guard.value ?? { BOOL: true } };
  const adds: string[] = [];
  const conditions = ['attribute_not_exists(#m)'];
  if (guard.unless !== undefined) {
    names['#u'] = guard.unless;
    conditions.push('attribute_not_exists(#u)');
  }
  let i = 0;
  const add = (attr: string, v: number): string => {
    const n = `#a${i}`;
    names[n] = attr;
    values[`:a${i}`] = { N: usd(v) };
    adds.push(`${n} :a${i}`);
    i++;
    return n;
  };
  for (const [w, v] of committed) add(committedAttr(w), v);
  for (const [w, v] of spent) add(spentAttr(w), v);
  for (const [b, v] of open) conditions.push(`attribute_exists(${add(b, v)})`);
  // A mark is never removed by the write that sets or tests it (a finished batch written again).
  const remove = (guard.remove ?? []).filter((t) => t !== guard.mark && t !== guard.unless);
  remove.forEach((t, j) => {
    names[`#t${j}`] = t;
  });
  const removal = remove.length === 0 ? '' : ` REMOVE ${remove.map((_, j) => `#t${j}`).join(', ')}`;
  return {
    Key: limitKey(records[0].keyId, first.shard),
    UpdateExpression: `SET #m = :t ADD ${adds.join(', ')}${removal}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The open buckets an item no longer has (closed), among those the records reserved into. */
export function closedBuckets(records: readonly UsageRecord[], item: Item | undefined): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    const res = r.reservation;
    if (res === undefined) continue;
    const b = openAttr(res.window, res.bucket);
    if (item?.[b] === undefined) out.add(b);
  }
  return out;
}

/**
 * Settles records (all of one limit item) under a guard: one UpdateItem, again with the buckets found closed
 * when a close raced it. `applied: false` when the guard's mark (or `unless`) was there already — the item
 * as read comes back, for the stream fold to see how far its mark got.
 */
export async function settleGuarded(
  client: DynamoDBClient,
  table: string,
  records: readonly UsageRecord[],
  guard: AggregateGuard,
): Promise<{ applied: true; item: Item | undefined } | { applied: false; item: Item | undefined }> {
  let closed = new Set<string>();
  for (let tries = 0; tries < 4; tries++) {
    const update = settlementUpdate(records, guard, closed);
    try {
      const out = await client.send(
        new UpdateItemCommand({ TableName: table, ...update, ReturnValues: 'ALL_NEW' }),
      );
      return { applied: true, item: out.Attributes };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item =
        (err as { Item?: Item }).Item ??
        (await client.send(new GetItemCommand({ TableName: table, Key: update.Key, ConsistentRead: true })))
          .Item;
      if (
        item?.[guard.mark] !== undefined ||
        (guard.unless !== undefined && item?.[guard.unless] !== undefined)
      )
        return { applied: false, item };
      const now = closedBuckets(records, item);
      if (now.size === closed.size) throw new Error('limit settlement refused for no known reason');
      closed = now;
    }
  }
  throw new Error('limit settlement: buckets kept closing under it');
}

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException'
  );
}
