/**
 * The tables the CDK stack creates, made in a local DynamoDB (the embedded store, or dynalite standing in for
 * a deployed stack's tables in tests) from the same definitions.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition } from '../core/stores/tables.ts';

type KeyDef = TableDefinition['partitionKey'];

export const localTableName = (def: TableDefinition): string => `switchyard-${def.id}`;

/** Creates the tables that are missing and waits until each is ACTIVE. */
export async function ensureTables(client: DynamoDBClient): Promise<void> {
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const def of TABLES) {
    const name = localTableName(def);
    if (existing.has(name)) continue;
    const schema = (k: { partitionKey: KeyDef; sortKey?: KeyDef }) =>
      k.sortKey === undefined ? [k.partitionKey] : [k.partitionKey, k.sortKey];
    const keys = schema(def);
    const indexes = def.globalIndexes ?? [];
    const attributes = new Map<string, KeyDef>();
    for (const k of [...keys, ...indexes.flatMap(schema)]) attributes.set(k.name, k);
    const keySchema = (ks: KeyDef[]) =>
      ks.map((k, i) => ({
        AttributeName: k.name,
        KeyType: i === 0 ? ('HASH' as const) : ('RANGE' as const),
      }));
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes.values()].map((k) => ({
          AttributeName: k.name,
          AttributeType: k.type as ScalarAttributeType,
        })),
        KeySchema: keySchema(keys),
        ...(indexes.length === 0
          ? {}
          : {
              GlobalSecondaryIndexes: indexes.map((ix) => ({
                IndexName: ix.name,
                KeySchema: keySchema(schema(ix)),
                Projection: { ProjectionType: 'ALL' as const },
              })),
            }),
      }),
    );
    await untilActive(client, name);
  }
}

/** A new table is usable once ACTIVE (dynalite flips it on a timer; DynamoDB takes seconds). */
async function untilActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const t = await client.send(new DescribeTableCommand({ TableName: name }));
    if (t.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}
