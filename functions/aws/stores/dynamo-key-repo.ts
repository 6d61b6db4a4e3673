/**
 * Client keys in the keys table: one item per key, `pk = key#<sha256 of the key>` — the key itself is never
 * stored. Lookup by hash is one GetItem (the request path, behind ClientKeyStore's cache); listing,
 * editing and revoking by id scan the table's `key#` items (there are few keys, and these are operator
 * commands), then an edit or a revoke is one conditional UpdateItem.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { BudgetPeriod, ClientKey, ClientKeyRepo, KeyChanges } from '../../core/keys/types.ts';

type Item = Record<string, AttributeValue>;

const PREFIX = 'key#';

function toItem(k: ClientKey): Item {
  const item: Item = {
    pk: { S: `${PREFIX}${k.hash}` },
    id: { S: k.id },
    name: { S: k.name },
    hash: { S: k.hash },
    createdAt: { S: k.createdAt },
  };
  if (k.models !== undefined) item.models = { L: k.models.map((m) => ({ S: m })) };
  if (k.rpm !== undefined) item.rpm = { N: String(k.rpm) };
  if (k.budgetUsd !== undefined) item.budgetUsd = { N: String(k.budgetUsd) };
  if (k.limitShards !== undefined) item.limitShards = { N: String(k.limitShards) };
  if (k.period !== undefined) item.period = { S: k.period };
  if (k.revokedAt !== undefined) item.revokedAt = { S: k.revokedAt };
  if (k.team !== undefined) item.team = { S: k.team };
  if (k.admin === true) item.admin = { BOOL: true };
  return item;
}

function fromItem(item: Item): ClientKey | undefined {
  const id = item.id?.S;
  const name = item.name?.S;
  const hash = item.hash?.S;
  const createdAt = item.createdAt?.S;
  if (id === undefined || name === undefined || hash === undefined || createdAt === undefined)
    return undefined;
  const models = item.models?.L?.flatMap((v) => (v.S === undefined ? [] : [v.S]));
  const num = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));
  const rpm = num(item.rpm);
  const budgetUsd = num(item.budgetUsd);
  const limitShards = num(item.limitShards);
  const period = item.period?.S as BudgetPeriod | undefined;
  const revokedAt = item.revokedAt?.S;
  const team = item.team?.S;
  const admin = item.admin?.BOOL === true;
  return {
    id,
    name,
    hash,
    createdAt,
    ...(models === undefined ? {} : { models }),
    ...(rpm === undefined ? {} : { rpm }),
    ...(budgetUsd === undefined ? {} : { budgetUsd }),
    ...(limitShards === undefined ? {} : { limitShards }),
    ...(period === undefined ? {} : { period }),
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(team === undefined ? {} : { team }),
    ...(admin ? { admin } : {}),
  };
}

/** The fields `edit` may set or remove, in the order its update names them. */
const EDITABLE = ['team', 'models', 'rpm', 'budgetUsd', 'period'] as const;

function attributeOf(value: string | number | readonly string[]): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  return { L: value.map((m) => ({ S: m })) };
}

export class DynamoKeyRepo implements ClientKeyRepo {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async put(key: ClientKey): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: toItem(key),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async findByHash(hash: string): Promise<ClientKey | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `${PREFIX}${hash}` } } }),
    );
    return res.Item === undefined ? undefined : fromItem(res.Item);
  }

  private async items(): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'begins_with(pk, :p)',
          ExpressionAttributeValues: { ':p': { S: PREFIX } },
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async list(): Promise<ClientKey[]> {
    return (await this.items())
      .flatMap((i) => {
        const k = fromItem(i);
        return k === undefined ? [] : [k];
      })
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async edit(id: string, changes: KeyChanges): Promise<boolean> {
    const pk = (await this.items()).find((i) => i.id?.S === id)?.pk;
    if (pk === undefined) return false;
    // A key without a budget has no period: removing the one removes the other.
    const all = changes.budgetUsd === null ? { ...changes, period: null } : changes;
    const set: string[] = [];
    const remove: string[] = [];
    const names: Record<string, string> = {};
    const values: Item = {};
    for (const field of EDITABLE) {
      const value = all[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) remove.push(`#${field}`);
      else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = attributeOf(value);
      }
    }
    if (set.length + remove.length === 0) return true;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: [
            set.length === 0 ? '' : `SET ${set.join(', ')}`,
            remove.length === 0 ? '' : `REMOVE ${remove.join(', ')}`,
          ]
            .join(' ')
            .trim(),
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ...(set.length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async revoke(id: string, atIso: string): Promise<boolean> {
    const item = (await this.items()).find((i) => i.id?.S === id);
    const pk = item?.pk;
    if (pk === undefined) return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': { S: atIso } },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
