/**
 * Rate limits and budget reservations in the keys table: one conditional UpdateItem per request, on one of
 * the key's limit items (`lim#<keyId>#<shard>`, layout in ./limit-items.ts). Every gateway instance shares
 * the same counters, and the item does not grow with the requests in flight:
 * - admission: `ADD n#<minute> 1, c#<window> a, o#<window>#<bucket> a` on condition that the minute's count
 *   is below the shard's share of the rpm and committed + a ≤ the shard's share of the budget — both or
 *   neither, so a request refused for its budget takes no rate token. A refusal reads the item (DynamoDB
 *   returns it with the refusal; dynalite needs a GetItem) to answer 429 or 402; a key with several shards
 *   tries one other shard before refusing.
 * - settlement: not here. The request's ledger record carries its reservation (shard, window, bucket,
 *   amount) and the ledger's fold settles it (./limit-items.ts `settlementUpdate`), exactly once like the
 *   aggregates — so a request makes one limit write, not three.
 * - crash recovery: a bucket is the minute the requests reserved into it expire. Once it has passed, what is
 *   left open in it belongs to requests that never wrote a record; the next admission that sees it closes it
 *   (`ADD c#<window> −left REMOVE o#…` on condition the amount is unchanged), in the background — or at once,
 *   before trying again, when a reservation was refused. A record folded after its bucket closed adds its
 *   whole cost. The same write removes past minutes and windows, so the item keeps a few hundred bytes.
 *
 * An SDK resend of an admission that landed counts the request twice in its minute and reserves its amount
 * twice: never an overspend, and the extra reservation is given back when its bucket closes (README, Budgets).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Background } from '../../core/background.ts';
import type { Admission, AdmitDecision, LimitStore } from '../../core/keys/types.ts';
import {
  committedAttr,
  type Item,
  limitKey,
  limitShardOf,
  openAttr,
  rateAttr,
  rateShare,
  spentAttr,
  usd,
} from './limit-items.ts';

const MINUTE_MS = 60_000;

function conditionFailed(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string })?.name === 'ConditionalCheckFailedException'
  );
}

type Refusal = Exclude<AdmitDecision, { ok: true }>;

export interface LimitStoreOptions {
  /** Owns the background tidy writes (a host waits for them before it stops); without it they run detached. */
  readonly background?: Background;
}

export class DynamoLimitStore implements LimitStore {
  /** Per limit item, the minute this instance last tidied it: at most one tidy a minute each. */
  private readonly tidied = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly opts: LimitStoreOptions = {},
  ) {}

  async admit(a: Admission): Promise<AdmitDecision> {
    const shards = Math.max(1, a.shards);
    const first = limitShardOf(a.requestKey, shards);
    const d1 = await this.tryShard(a, first, shards);
    if (d1.ok || shards === 1) return d1;
    // Near a limit one shard may be full while another has room: one more try, on the next shard.
    const d2 = await this.tryShard(a, (first + 1) % shards, shards);
    if (d2.ok) return d2;
    return d1.reason === 'rate' ? d1 : d2;
  }

  private async tryShard(a: Admission, shard: number, shards: number): Promise<AdmitDecision> {
    const minute = Math.floor(a.nowEpochMs / MINUTE_MS);
    const key = limitKey(a.keyId, shard);
    const names: Record<string, string> = {};
    const values: Item = {};
    const adds: string[] = [];
    const conditions: string[] = [];
    const rpmShare = a.rpm === undefined ? undefined : rateShare(a.rpm, shard, shards);
    if (a.rpm !== undefined) {
      names['#n'] = rateAttr(minute);
      values[':one'] = { N: '1' };
      values[':rpm'] = { N: String(rpmShare) };
      adds.push('#n :one');
      conditions.push('(attribute_not_exists(#n) OR #n < :rpm)');
    }
    const b = a.budget;
    let bucket = 0;
    if (b !== undefined) {
      const share = b.limitUsd / shards;
      // A reservation must fit one shard's share (README, "Client keys": busy keys).
      if (b.amountUsd > share) return { ok: false, reason: 'budget', window: b.window };
      bucket = Math.floor(b.expiresAtEpochMs / MINUTE_MS);
      names['#c'] = committedAttr(b.window);
      names['#o'] = openAttr(b.window, bucket);
      values[':amt'] = { N: usd(b.amountUsd) };
      values[':max'] = { N: usd(share - b.amountUsd) };
      adds.push('#c :amt', '#o :amt');
      conditions.push('(attribute_not_exists(#c) OR #c <= :max)');
    }
    if (adds.length === 0) return { ok: true };
    const update = {
      TableName: this.tableName,
      Key: key,
      UpdateExpression: `ADD ${adds.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW' as const,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    const admitted = (item: Item | undefined): AdmitDecision => {
      this.tidyLater(a, shard, item, minute);
      return b === undefined
        ? { ok: true }
        : { ok: true, reservation: { shard, window: b.window, bucket, usd: b.amountUsd } };
    };
    let item: Item | undefined;
    try {
      return admitted((await this.client.send(new UpdateItemCommand(update))).Attributes);
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      item = await this.itemOf(key, err);
    }
    const refusal = this.refusal(a, item, minute, rpmShare);
    // A full budget may be money of crashed requests still held in past buckets: give it back, try again.
    // (Closed by this call or by a concurrent one: either way, try again once.) A settlement that landed
    // between the refusal and the read (the item has room now) is worth that one more try too.
    if (refusal.reason === 'budget' && (hasPast(item, minute) || hasRoom(item, b, shards))) {
      await this.tidy(a, shard, item, minute);
      try {
        return admitted((await this.client.send(new UpdateItemCommand(update))).Attributes);
      } catch (err) {
        if (!conditionFailed(err)) throw err;
        return this.refusal(a, await this.itemOf(key, err), minute, rpmShare);
      }
    }
    return refusal;
  }

  /** The item as it was when a write was refused: returned with the refusal (DynamoDB), else read. */
  private async itemOf(key: Item, err: unknown): Promise<Item | undefined> {
    const returned = (err as { Item?: Item }).Item;
    if (returned !== undefined) return returned;
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return res.Item;
  }

  private refusal(a: Admission, item: Item | undefined, minute: number, rpmShare?: number): Refusal {
    const counted = Number(item?.[rateAttr(minute)]?.N ?? '0');
    if (rpmShare !== undefined && (counted >= rpmShare || a.budget === undefined)) {
      return {
        ok: false,
        reason: 'rate',
        retryAfterMs: Math.max(1, (minute + 1) * MINUTE_MS - a.nowEpochMs),
      };
    }
    return { ok: false, reason: 'budget', window: a.budget?.window ?? '' };
  }

  /** Tidies in the background, once a minute per item and instance, when the item has something past. */
  private tidyLater(a: Admission, shard: number, item: Item | undefined, minute: number): void {
    const id = `${a.keyId}#${shard}`;
    if (this.tidied.get(id) === minute || !hasPast(item, minute)) return;
    if (this.tidied.size >= 10_000) this.tidied.clear();
    this.tidied.set(id, minute);
    const run = this.tidy(a, shard, item, minute).then(
      () => undefined,
      () => undefined,
    );
    this.opts.background?.add(run);
  }

  /**
   * One write that closes the item's past buckets (their leftover leaves committed), and removes past minutes
   * and other windows' totals with no open bucket left. True when it changed the item.
   */
  private async tidy(a: Admission, shard: number, item: Item | undefined, minute: number): Promise<boolean> {
    if (item === undefined) return false;
    const names: Record<string, string> = {};
    const values: Item = {};
    const removes: string[] = [];
    const adds: string[] = [];
    const conditions: string[] = [];
    const openWindows = new Set<string>();
    const give = new Map<string, number>();
    let i = 0;
    const name = (attr: string): string => {
      const n = `#x${i++}`;
      names[n] = attr;
      return n;
    };
    for (const [attr, v] of Object.entries(item)) {
      const [kind, ...rest] = attr.split('#');
      if (kind === 'n' && Number(rest[0]) < minute - 1) removes.push(name(attr));
      if (kind !== 'o') continue;
      const bucket = Number(rest.at(-1));
      const window = rest.slice(0, -1).join('#');
      if (bucket >= minute) {
        openWindows.add(window);
        continue;
      }
      const n = name(attr);
      values[`:v${i}`] = { N: v.N ?? '0' };
      conditions.push(`${n} = :v${i}`);
      removes.push(n);
      give.set(window, (give.get(window) ?? 0) + Number(v.N ?? '0'));
    }
    for (const [window, left] of give) {
      if (left === 0) continue;
      const n = name(committedAttr(window));
      values[`:g${i}`] = { N: usd(-left) };
      adds.push(`${n} :g${i}`);
    }
    // Totals of a window that is over (a day or month budget's past window) once nothing is open in it.
    const current = a.budget?.window;
    if (current !== undefined) {
      for (const attr of Object.keys(item)) {
        const [kind, ...rest] = attr.split('#');
        const window = rest.join('#');
        if (
          (kind === 'c' || kind === 'sp') &&
          window !== current &&
          !openWindows.has(window) &&
          !give.has(window)
        )
          removes.push(name(attr));
      }
    }
    if (removes.length === 0 && adds.length === 0) return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: limitKey(a.keyId, shard),
          UpdateExpression: [
            adds.length === 0 ? '' : `ADD ${adds.join(', ')}`,
            removes.length === 0 ? '' : `REMOVE ${removes.join(', ')}`,
          ]
            .filter((x) => x !== '')
            .join(' '),
          ...(conditions.length === 0 ? {} : { ConditionExpression: conditions.join(' AND ') }),
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      );
      return true;
    } catch (err) {
      // A settlement moved a bucket since it was read: the next admission that sees it closes it.
      if (!conditionFailed(err)) throw err;
      return false;
    }
  }

  async spent(
    keyId: string,
    window: string,
    shards: number,
  ): Promise<{ spentUsd: number; committedUsd: number }> {
    const items = await Promise.all(
      Array.from({ length: Math.max(1, shards) }, (_, s) =>
        this.client.send(
          new GetItemCommand({ TableName: this.tableName, Key: limitKey(keyId, s), ConsistentRead: true }),
        ),
      ),
    );
    let spentUsd = 0;
    let committedUsd = 0;
    for (const res of items) {
      spentUsd += Number(res.Item?.[spentAttr(window)]?.N ?? '0');
      committedUsd += Number(res.Item?.[committedAttr(window)]?.N ?? '0');
    }
    return { spentUsd: Number(usd(spentUsd)), committedUsd: Number(usd(committedUsd)) };
  }
}

/** Whether the shard's committed amount now leaves room for the reservation. */
function hasRoom(item: Item | undefined, b: Admission['budget'], shards: number): boolean {
  if (b === undefined) return false;
  return Number(item?.[committedAttr(b.window)]?.N ?? '0') <= b.limitUsd / shards - b.amountUsd;
}

/** Whether the item holds a past minute's count or a past bucket. */
function hasPast(item: Item | undefined, minute: number): boolean {
  if (item === undefined) return false;
  for (const attr of Object.keys(item)) {
    if (attr.startsWith('n#') && Number(attr.slice(2)) < minute - 1) return true;
    if (attr.startsWith('o#') && Number(attr.slice(attr.lastIndexOf('#') + 1)) < minute) return true;
  }
  return false;
}
