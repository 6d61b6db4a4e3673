/**
 * Rate windows and budget reservations in the keys table. Each decision is one atomic conditional write, so
 * every gateway instance shares the same counters:
 * - `rate#<keyId>#<epoch minute>`: `n` requests counted in that minute (`ADD` if `n < rpm`);
 * - `budget#<keyId>#<window>`: `committed` = spent + held USD, `spent`, and `holds` (hold id → amount,
 *   expiry). DynamoDB conditions cannot add, so the sum the limit applies to is kept as one attribute:
 *   a reservation is `ADD committed :amount` on condition `committed <= limit - amount`.
 * Amounts are DynamoDB numbers (decimal, exact), and USD values are rounded to 1e-10 before they are sent.
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
          ConditionExpression: 'attribute_exists(holds) AND committed <= :max',
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

  async reserve(hold: BudgetHold, nowEpochMs: number): Promise<boolean> {
    if (hold.amountUsd > hold.limitUsd) return false;
    if (await this.tryReserve(hold)) return true;
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: this.key(hold.keyId, hold.window),
        ConsistentRead: true,
      }),
    );
    if (res.Item === undefined) {
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
      return this.tryReserve(hold);
    }
    // The window exists (a concurrent request may have created it since the first try): release the holds
    // of requests that crashed without settling, then try once more — a refusal now means a full budget.
    const holds = res.Item.holds?.M ?? {};
    const expired = Object.entries(holds).filter(([, v]) => Number(v.M?.exp?.N ?? '0') < nowEpochMs);
    for (const [id, v] of expired)
      await this.release(hold.keyId, hold.window, id, Number(v.M?.amount?.N ?? '0'));
    return this.tryReserve(hold);
  }

  /** Removes a hold and its amount; the condition makes two releasers of the same hold subtract once. */
  private async release(keyId: string, window: string, holdId: string, amount: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(keyId, window),
          UpdateExpression: 'REMOVE holds.#h ADD committed :neg',
          ConditionExpression: 'attribute_exists(holds.#h)',
          ExpressionAttributeNames: { '#h': holdId },
          ExpressionAttributeValues: { ':neg': { N: usd(-amount) } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  async settle(hold: BudgetHold, actualUsd: number): Promise<void> {
    const key = this.key(hold.keyId, hold.window);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'REMOVE holds.#h ADD committed :delta, spent :actual',
          ConditionExpression: 'attribute_exists(holds.#h)',
          ExpressionAttributeNames: { '#h': hold.holdId },
          ExpressionAttributeValues: {
            ':delta': { N: usd(actualUsd - hold.amountUsd) },
            ':actual': { N: usd(actualUsd) },
          },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      // The hold expired and was released: the money was still spent.
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'ADD committed :actual, spent :actual',
          ExpressionAttributeValues: { ':actual': { N: usd(actualUsd) } },
        }),
      );
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
