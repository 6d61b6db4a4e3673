/**
 * The local DynamoDB: dynalite embedded in the process, persisted under the data dir (in memory when no dir is
 * given, for tests), with the same tables the CDK stack creates. Other processes (the CLI while the server
 * runs) find it through `<dataDir>/store.json`, since LevelDB allows only one process to open the files.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { z } from 'zod';
import { TABLES, type TableDefinition } from '../core/stores/tables.ts';

export interface StoreConnection {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  tableName(def: TableDefinition): string;
  close(): Promise<void>;
}

type KeyDef = TableDefinition['partitionKey'];

export const localTableName = (def: TableDefinition): string => `switchyard-${def.id}`;

export function connectStore(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

async function ensureTables(client: DynamoDBClient): Promise<void> {
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
  }
}

/** Starts dynalite on a random loopback port and creates the tables that are missing. */
export async function startEmbeddedStore(dataDir: string | undefined): Promise<StoreConnection> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const server = dynalite({
    ...(dataDir === undefined ? {} : { path: join(dataDir, 'db') }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = connectStore(endpoint);
  await ensureTables(client);
  const marker = dataDir === undefined ? undefined : join(dataDir, 'store.json');
  if (marker !== undefined) await writeFile(marker, JSON.stringify({ endpoint, pid: process.pid }));
  return {
    endpoint,
    client,
    tableName: localTableName,
    async close() {
      client.destroy();
      if (marker !== undefined) await rm(marker, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const storeMarker = z.object({ endpoint: z.string().url(), pid: z.number().int().positive() });

/** The store of a running local server when there is one, else a store of our own on the same data dir. */
export async function openStore(dataDir: string): Promise<StoreConnection> {
  try {
    const { endpoint, pid } = storeMarker.parse(
      JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8')),
    );
    process.kill(pid, 0); // throws when that server is gone
    const client = connectStore(endpoint);
    await client.send(new ListTablesCommand({}));
    return { endpoint, client, tableName: localTableName, close: async () => client.destroy() };
  } catch {
    return startEmbeddedStore(dataDir);
  }
}
