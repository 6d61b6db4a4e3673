/**
 * Shared target health (functions/core/routing/health.ts, {@link HealthStore}) in the keys table: one small item
 * per target, `pk` = `health#<target id>` (the id is `provider/model`; ids over {@link MAX_TARGET_ID_LENGTH}
 * characters are never written nor read), with
 * - `openUntil` (N, epoch ms; 0 = closed), `reason` (S), `at` (N, epoch ms): the latest breaker transition.
 *   Written on condition that the item holds no later one (`at`), so the latest transition wins whichever
 *   instance wrote it, in whatever order the writes land;
 * - `latencyMs`, `ttftMs` (N): the last moving averages any instance wrote (last writer wins), and `seenAt`
 *   (N, epoch ms) when it wrote them (the active probes skip a target in use);
 * - `fails` (N): the fleet's failures since the last success that reset it or the last transition (ADD, so
 *   concurrent failures on many instances all count);
 * - `probeAt` (N: the `at` of the transition whose probe was claimed), `probeUntil` (N, epoch ms): the
 *   half-open probe's claim, taken by one conditional write: free when it names another transition or has
 *   run out (a probe that ends with no verdict sets `probeUntil` to 0);
 * - `expiresAt` (N, epoch seconds): now + the TTL (a day by default), refreshed by every write, so a target
 *   nobody routes to any more leaves the table. DynamoDB's TTL deletes up to days late: reads compare it with
 *   the clock themselves. The TTL should outlast the longest cool-down (the config allows one day).
 *
 * A read is one BatchGetItem per 100 targets (eventually consistent: the board re-reads every second anyway).
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  type KeysAndAttributes,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/ports.ts';
import type { HealthReason, HealthStore, SharedHealth, Transition } from '../../core/routing/health.ts';

type Item = Record<string, AttributeValue>;

/** Target ids longer than this are ignored (a key stays far below DynamoDB's 2048-byte partition key). */
export const MAX_TARGET_ID_LENGTH = 512;
const DEFAULT_TTL_MS = 86_400_000;
/** Keys per BatchGetItem (DynamoDB's limit). */
const BATCH_GET = 100;
/** Extra BatchGetItem calls for the keys DynamoDB left unprocessed (throttling), before giving up on them. */
const UNPROCESSED_RETRIES = 2;
const PREFIX = 'health#';
const REASONS: ReadonlySet<string> = new Set<HealthReason>(['closed', 'breaker', 'rate_limited', 'quota']);

const keyOf = (id: string): Item => ({ pk: { S: `${PREFIX}${id}` } });
const fits = (id: string): boolean => id.length <= MAX_TARGET_ID_LENGTH;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function conditionFailed(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string })?.name === 'ConditionalCheckFailedException'
  );
}

function num(v: AttributeValue | undefined): number | undefined {
  if (v?.N === undefined) return undefined;
  const n = Number(v.N);
  return Number.isFinite(n) ? n : undefined;
}

export interface DynamoHealthStoreOptions {
  /** How long an item outlives its last write (default one day). */
  readonly ttlMs?: number;
  /** Wall time for `expiresAt`, the probe's hold and reads' expiry checks. */
  readonly clock?: Pick<Clock, 'epochMs'>;
}

export class DynamoHealthStore implements HealthStore {
  private readonly ttlMs: number;
  private readonly clock: Pick<Clock, 'epochMs'>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    opts: DynamoHealthStoreOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.clock = opts.clock ?? { epochMs: () => Date.now() };
  }

  async read(ids: readonly string[]): Promise<ReadonlyMap<string, SharedHealth>> {
    const wanted = [...new Set(ids)].filter(fits);
    const out = new Map<string, SharedHealth>();
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += BATCH_GET) chunks.push(wanted.slice(i, i + BATCH_GET));
    const items = (await Promise.all(chunks.map((chunk) => this.batchGet(chunk)))).flat();
    const now = this.clock.epochMs();
    for (const item of items) {
      const pk = item.pk?.S;
      if (pk === undefined || !pk.startsWith(PREFIX)) continue;
      const expiresAt = num(item.expiresAt);
      if (expiresAt !== undefined && expiresAt * 1000 <= now) continue;
      out.set(pk.slice(PREFIX.length), sharedOf(item));
    }
    return out;
  }

  /** One BatchGetItem (≤ 100 keys), then the same call for what DynamoDB left unprocessed, a couple of times. */
  private async batchGet(ids: readonly string[]): Promise<Item[]> {
    const found: Item[] = [];
    let request: KeysAndAttributes | undefined = { Keys: ids.map(keyOf) };
    for (let attempt = 0; request?.Keys !== undefined && request.Keys.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) break; // the rest reads as "nothing shared": the board keeps its view
      if (attempt > 0) await sleep(25 * 2 ** attempt);
      const res: BatchGetItemCommandOutput = await this.client.send(
        new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }),
      );
      found.push(...(res.Responses?.[this.tableName] ?? []));
      request = res.UnprocessedKeys?.[this.tableName];
    }
    return found;
  }

  async transition(id: string, t: Transition): Promise<void> {
    if (!fits(id)) return;
    // A later transition may be there already: it stands.
    await this.conditional({
      TableName: this.tableName,
      Key: keyOf(id),
      UpdateExpression:
        'SET #openUntil = :openUntil, #reason = :reason, #at = :at, #fails = :zero, #exp = :exp',
      ConditionExpression: 'attribute_not_exists(#at) OR #at < :at',
      ExpressionAttributeNames: {
        '#openUntil': 'openUntil',
        '#reason': 'reason',
        '#at': 'at',
        '#fails': 'fails',
        '#exp': 'expiresAt',
      },
      ExpressionAttributeValues: {
        ':zero': { N: '0' },
        ':openUntil': { N: String(t.openUntil) },
        ':reason': { S: t.reason },
        ':at': { N: String(t.at) },
        ':exp': this.expiresAt(),
      },
    });
  }

  async failed(id: string): Promise<number> {
    if (!fits(id)) return 0;
    const res = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(id),
        UpdateExpression: 'ADD #fails :one SET #exp = :exp',
        ExpressionAttributeNames: { '#fails': 'fails', '#exp': 'expiresAt' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':exp': this.expiresAt() },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return num(res.Attributes?.fails) ?? 0;
  }

  async resetFailures(id: string): Promise<void> {
    if (!fits(id)) return;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(id),
        UpdateExpression: 'SET #fails = :zero, #exp = :exp',
        ExpressionAttributeNames: { '#fails': 'fails', '#exp': 'expiresAt' },
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':exp': this.expiresAt() },
      }),
    );
  }

  async speeds(
    id: string,
    s: { readonly latencyMs?: number; readonly ttftMs?: number; readonly seenAt?: number },
  ): Promise<void> {
    if (!fits(id)) return;
    const names: Record<string, string> = { '#exp': 'expiresAt' };
    const values: Item = { ':exp': this.expiresAt() };
    const sets: string[] = [];
    if (s.latencyMs !== undefined) {
      names['#latencyMs'] = 'latencyMs';
      values[':latencyMs'] = { N: String(s.latencyMs) };
      sets.push('#latencyMs = :latencyMs');
    }
    if (s.ttftMs !== undefined) {
      names['#ttftMs'] = 'ttftMs';
      values[':ttftMs'] = { N: String(s.ttftMs) };
      sets.push('#ttftMs = :ttftMs');
    }
    if (s.seenAt !== undefined && sets.length > 0) {
      names['#seenAt'] = 'seenAt';
      values[':seenAt'] = { N: String(s.seenAt) };
      sets.push('#seenAt = :seenAt');
    }
    if (sets.length === 0) return;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(id),
        UpdateExpression: `SET ${[...sets, '#exp = :exp'].join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async claimProbe(id: string, openedAt: number, holdMs: number): Promise<boolean> {
    // Not shared: this instance probes on its own, as it would without a store.
    if (!fits(id)) return true;
    const now = this.clock.epochMs();
    return this.conditional({
      TableName: this.tableName,
      Key: keyOf(id),
      UpdateExpression: 'SET #probeAt = :openedAt, #probeUntil = :until, #exp = :exp',
      ConditionExpression: 'attribute_not_exists(#probeAt) OR #probeAt <> :openedAt OR #probeUntil < :now',
      ExpressionAttributeNames: {
        '#probeAt': 'probeAt',
        '#probeUntil': 'probeUntil',
        '#exp': 'expiresAt',
      },
      ExpressionAttributeValues: {
        ':openedAt': { N: String(openedAt) },
        ':until': { N: String(now + holdMs) },
        ':now': { N: String(now) },
        ':exp': this.expiresAt(now),
      },
    });
  }

  async releaseProbe(id: string, openedAt: number): Promise<void> {
    if (!fits(id)) return;
    // Condition failed: the claim is another transition's by now, nothing of ours to free.
    await this.conditional({
      TableName: this.tableName,
      Key: keyOf(id),
      UpdateExpression: 'SET #probeUntil = :zero',
      ConditionExpression: '#probeAt = :openedAt',
      ExpressionAttributeNames: { '#probeAt': 'probeAt', '#probeUntil': 'probeUntil' },
      ExpressionAttributeValues: { ':openedAt': { N: String(openedAt) }, ':zero': { N: '0' } },
    });
  }

  /** An UpdateItem on its condition: false when the condition failed (another write stands), true when done. */
  private async conditional(input: UpdateItemCommandInput): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand(input));
      return true;
    } catch (err) {
      if (conditionFailed(err)) return false;
      throw err;
    }
  }

  private expiresAt(now = this.clock.epochMs()): AttributeValue {
    return { N: String(Math.ceil((now + this.ttlMs) / 1000)) };
  }
}

/** The fields an item holds; a transition only when all three of its fields are there and make sense. */
function sharedOf(item: Item): SharedHealth {
  const openUntil = num(item.openUntil);
  const at = num(item.at);
  const reason = item.reason?.S;
  const latencyMs = num(item.latencyMs);
  const ttftMs = num(item.ttftMs);
  const fails = num(item.fails);
  const seenAt = num(item.seenAt);
  const transition =
    openUntil !== undefined && at !== undefined && reason !== undefined && REASONS.has(reason)
      ? { openUntil, reason: reason as HealthReason, at }
      : {};
  return {
    ...transition,
    ...(latencyMs === undefined ? {} : { latencyMs }),
    ...(ttftMs === undefined ? {} : { ttftMs }),
    ...(fails === undefined ? {} : { fails }),
    ...(seenAt === undefined ? {} : { seenAt }),
  };
}
