/**
 * The local DynamoDB: dynalite embedded in the process (in a worker thread), persisted under the data dir (in memory when no dir is
 * given, for tests), with the same tables the CDK stack creates. Other processes (the CLI while the server
 * runs) find it through `<dataDir>/store.json`, since LevelDB allows only one process to open the files.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
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

/** Runs dynalite in a worker thread on a random loopback port; resolves with the port and a stop function. */
async function startDynaliteWorker(
  dataDir: string | undefined,
): Promise<{ port: number; stop(): Promise<void> }> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), {
    workerData: dataDir === undefined ? {} : { path: join(dataDir, 'db') },
    // The worker is plain JavaScript: no TypeScript loader flags needed (or wanted) there.
    execArgv: [],
    // V8 lets an isolate's heap grow far before a full collection when the machine has memory; bounded, the
    // worker collects as it goes (the bench's memory run: see docs/benchmarks.md). Its data is on disk.
    resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 8 },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`dynalite worker exited (${code})`)));
    worker.on('message', (m: { type: string; port?: number; message?: string }) => {
      if (m.type === 'listening' && m.port !== undefined) resolve(m.port);
      else if (m.type === 'error') reject(new Error(`dynalite: ${m.message}`));
    });
  });
  // After start, a dying store must not take the gateway with it: requests keep being served (routes and
  // keys from their caches, ledger records to the spool), and the cause is on stderr.
  worker.on('error', (err) =>
    process.stderr.write(`embedded store (dynalite worker) failed: ${String(err)}\n`),
  );
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        worker.on('message', (m: { type: string }) => {
          if (m.type === 'closed') resolve();
        });
        worker.postMessage('close');
      });
      await worker.terminate();
    },
  };
}

/** Starts dynalite (in a worker thread) on a random loopback port and creates the tables that are missing. */
export async function startEmbeddedStore(dataDir: string | undefined): Promise<StoreConnection> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const server = await startDynaliteWorker(dataDir);
  const endpoint = `http://127.0.0.1:${server.port}`;
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
      await server.stop();
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
