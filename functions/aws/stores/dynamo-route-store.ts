/**
 * Routes, providers and prices in DynamoDB: one item per entry (`pk` = kind, `sk` = name, `doc` = the entry as
 * JSON). Lambda reads it against real DynamoDB, the local host against embedded dynalite: one code path.
 * The whole config is validated with the same zod schema as the YAML file when it is read.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type GatewayConfig, parseConfig } from '../../core/config/schema.ts';
import type { RouteStore } from '../../core/ports.ts';

const KINDS = { provider: 'providers', route: 'routes', price: 'prices' } as const;
type Kind = keyof typeof KINDS;

export interface ConfigItem {
  readonly kind: Kind;
  readonly name: string;
  readonly doc: unknown;
}

function itemsOf(config: GatewayConfig): ConfigItem[] {
  const out: ConfigItem[] = [];
  for (const [kind, field] of Object.entries(KINDS) as [Kind, keyof GatewayConfig][]) {
    for (const [name, doc] of Object.entries(config[field])) out.push({ kind, name, doc });
  }
  return out;
}

export class DynamoRouteStore implements RouteStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async items(): Promise<ConfigItem[]> {
    const out: ConfigItem[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const kind = item.pk?.S;
        const name = item.sk?.S;
        const doc = item.doc?.S;
        if (kind === undefined || !Object.hasOwn(KINDS, kind) || name === undefined || doc === undefined)
          continue;
        out.push({ kind: kind as Kind, name, doc: JSON.parse(doc) });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async load(): Promise<GatewayConfig> {
    // Buckets without a prototype: an item named `__proto__` becomes an own key that validation refuses,
    // never the bucket's prototype.
    const bucket = (): Record<string, unknown> => Object.create(null);
    const raw: Record<string, Record<string, unknown>> = {
      providers: bucket(),
      routes: bucket(),
      prices: bucket(),
    };
    for (const it of await this.items()) {
      const into = raw[KINDS[it.kind]];
      if (into !== undefined) into[it.name] = it.doc;
    }
    return parseConfig(raw, `routes table ${this.tableName}`);
  }

  /**
   * Makes the table hold exactly `config`: puts every entry (providers first, routes after), then deletes the
   * ones that are gone (routes first). BatchWriteItem is not atomic (and dynalite has no transactions), but a
   * reader that catches a half-written table fails validation and keeps its last good config.
   */
  async sync(config: GatewayConfig): Promise<{ put: number; deleted: number }> {
    const wanted = itemsOf(config);
    const keep = new Set(wanted.map((i) => `${i.kind}/${i.name}`));
    const gone = (await this.items()).filter((i) => !keep.has(`${i.kind}/${i.name}`)).reverse();
    const writes: WriteRequest[] = [
      ...wanted.map((i) => ({
        PutRequest: { Item: { pk: { S: i.kind }, sk: { S: i.name }, doc: { S: JSON.stringify(i.doc) } } },
      })),
      ...gone.map((i) => ({ DeleteRequest: { Key: { pk: { S: i.kind }, sk: { S: i.name } } } })),
    ];
    for (let i = 0; i < writes.length; i += 25) {
      let batch: WriteRequest[] | undefined = writes.slice(i, i + 25);
      for (let tries = 0; batch !== undefined && batch.length > 0; tries++) {
        if (tries > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** tries)));
        const res: BatchWriteItemCommandOutput = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: batch } }),
        );
        batch = res.UnprocessedItems?.[this.tableName];
        if (tries > 8 && batch !== undefined && batch.length > 0)
          throw new Error('routes sync: DynamoDB kept items unprocessed');
      }
    }
    return { put: wanted.length, deleted: gone.length };
  }
}
