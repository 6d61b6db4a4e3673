/**
 * Rate windows and budget reservations in the keys table. Each decision is one atomic conditional write, so
 * every gateway instance shares the same counters:
 * - `rate#<keyId>#<epoch minute>`: `n` requests counted in that minute (`ADD` if `n < rpm`);
 * - `budget#<keyId>#<window>`: `committed` = spent + held USD, `spent`, and `holds` (hold id → amount,
 *   expiry, and `released` once an expired hold was given back). DynamoDB conditions cannot add, so the sum
 *   the limit applies to is kept as one attribute: a reservation is `ADD committed :amount` on condition
 *   `committed <= limit - amount`.
 * Amounts are DynamoDB numbers (decimal, exact), and USD values are rounded to 1e-10 before they are sent.
 *
 * Every write is idempotent by hold id, because the SDK sends a write again when its answer was lost even
 * if the first one landed: a reservation requires the hold to be absent (and a refusal checks whether the
 * hold is there after all), a settlement and a release each require the hold in the state they move it
 * from. That is why a release marks the hold `released` instead of removing it: a late settlement then
 * still tells "released, not yet settled" (add the cost) from "settled already" (add nothing). Released
 * holds are dropped a day after their expiry, when a reservation next reads the window.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { BudgetHold, LimitStore, RateDecision } from '../../core/keys/types.ts';

const MINUTE_MS = 60_000;
/** How long past its expiry a released hold is kept for a late settlement (see the file comment). */
const RELEASED_KEPT_MS = 86_400_000;
const usd = (v: number): string => String(Math.round(v * 1e10) / 1e10);

function conditionFailed(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string })?.name === 'ConditionalCheckFailedException'
  );
}

export class DynamoLimitStore implements LimitStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async takeRate(keyId: string, rpm: number, nowEpochMs: number): Promise<RateDecision> {
    const minute = Math.floor(nowEpochMs / MINUTE_MS);
    const windowEnd = (minute + 1) * MINUTE_MS;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `rate#${keyId}#${minute}` } },
          UpdateExpression: 'ADD n :one SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(n) OR n < :rpm',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':rpm': { N: String(rpm) },
            ':exp': { N: String(Math.ceil(windowEnd / 1000) + 120) },
          },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      return { ok: false, retryAfterMs: Math.max(1, windowEnd - nowEpochMs) };
    }
  }

  private key(keyId: string, window: string): Record<string, AttributeValue> {
    return { pk: { S: `budget#${keyId}#${window}` } };
  }

  private async tryReserve(hold: BudgetHold): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(hold.keyId, hold.window),
          UpdateExpression: 'SET holds.#h = :hold ADD committed :amt',
          ConditionExpression:
            'attribute_exists(holds) AND attribute_not_exists(holds.#h) AND committed <= :max',
          ExpressionAttributeNames: { '#h': hold.holdId },
          ExpressionAttributeValues: {
            ':hold': { M: { amount: { N: usd(hold.amountUsd) }, exp: { N: String(hold.expiresAtEpochMs) } } },
            ':amt': { N: usd(hold.amountUsd) },
            ':max': { N: usd(hold.limitUsd - hold.amountUsd) },
          },
        }),
      );
      return true;
    } catch (err) {
      if (conditionFailed(err)) return false;
      throw err;
    }
  }

  private async window(keyId: string, window: string): Promise<Record<string, AttributeValue> | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(keyId, window), ConsistentRead: true }),
    );
    return res.Item;
  }

  /** Whether the hold is in the window: a refused try may be the SDK's copy of one that landed. */
  private async placed(hold: BudgetHold): Promise<boolean> {
    return (await this.window(hold.keyId, hold.window))?.holds?.M?.[hold.holdId] !== undefined;
  }

  async reserve(hold: BudgetHold, nowEpochMs: number): Promise<boolean> {
    if (hold.amountUsd > hold.limitUsd) return false;
    if (await this.tryReserve(hold)) return true;
    const item = await this.window(hold.keyId, hold.window);
    if (item?.holds?.M?.[hold.holdId] !== undefined) return true;
    if (item === undefined) {
      // First use of this window: create it (another request may do so at the same time; either wins).
      await this.client
        .send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...this.key(hold.keyId, hold.window),
              committed: { N: '0' },
              spent: { N: '0' },
              holds: { M: {} },
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((err: unknown) => {
          if (!conditionFailed(err)) throw err;
        });
      return (await this.tryReserve(hold)) || this.placed(hold);
    }
    // The window exists (a concurrent request may have created it since the first try): release the holds
    // of requests that crashed without settling, then try once more — a refusal now means a full budget.
    for (const [id, v] of Object.entries(item.holds?.M ?? {})) {
      const exp = Number(v.M?.exp?.N ?? '0');
      if (v.M?.released === undefined && exp < nowEpochMs)
        await this.release(hold.keyId, hold.window, id, Number(v.M?.amount?.N ?? '0'));
      else if (v.M?.released !== undefined && exp + RELEASED_KEPT_MS < nowEpochMs)
        await this.forget(hold.keyId, hold.window, id);
    }
    return (await this.tryReserve(hold)) || this.placed(hold);
  }

  /** Gives back an expired hold's amount and marks it released, once however many releasers race. */
  private async release(keyId: string, window: string, holdId: string, amount: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(keyId, window),
          UpdateExpression: 'SET holds.#h.released = :t ADD committed :neg',
          ConditionExpression: 'attribute_exists(holds.#h) AND attribute_not_exists(holds.#h.released)',
          ExpressionAttributeNames: { '#h': holdId },
          ExpressionAttributeValues: { ':neg': { N: usd(-amount) }, ':t': { BOOL: true } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  /** Drops a released hold that nobody settled in time. */
  private async forget(keyId: string, window: string, holdId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(keyId, window),
          UpdateExpression: 'REMOVE holds.#h',
          ConditionExpression: 'holds.#h.released = :t',
          ExpressionAttributeNames: { '#h': holdId },
          ExpressionAttributeValues: { ':t': { BOOL: true } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  /**
   * Moves the hold to `spent`: a held hold is replaced by the actual cost; a released one (its request
   * outlived the expiry) adds the actual cost, since the money was still spent; a hold that is gone was
   * settled already — this is the SDK's or the caller's retry of a settlement that landed — and adds nothing.
   */
  async settle(hold: BudgetHold, actualUsd: number): Promise<void> {
    const key = this.key(hold.keyId, hold.window);
    const names = { '#h': hold.holdId };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'REMOVE holds.#h ADD committed :delta, spent :actual',
          ConditionExpression: 'attribute_exists(holds.#h) AND attribute_not_exists(holds.#h.released)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':delta': { N: usd(actualUsd - hold.amountUsd) },
            ':actual': { N: usd(actualUsd) },
          },
        }),
      );
      return;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'REMOVE holds.#h ADD committed :actual, spent :actual',
          ConditionExpression: 'holds.#h.released = :t',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':actual': { N: usd(actualUsd) }, ':t': { BOOL: true } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  async spent(keyId: string, window: string): Promise<{ spentUsd: number; committedUsd: number }> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(keyId, window), ConsistentRead: true }),
    );
    return {
      spentUsd: Number(res.Item?.spent?.N ?? '0'),
      committedUsd: Number(res.Item?.committed?.N ?? '0'),
    };
  }
}
