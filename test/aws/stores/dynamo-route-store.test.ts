/** The DynamoDB route store against dynalite on loopback (the same code Lambda runs against DynamoDB). */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRouteStore } from '../../../functions/aws/stores/dynamo-route-store.ts';
import { ConfigError, parseConfig } from '../../../functions/core/config/schema.ts';
import { CONFIG_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';

let conn: StoreConnection;
let store: DynamoRouteStore;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  store = new DynamoRouteStore(conn.client, conn.tableName(CONFIG_TABLE));
});
afterAll(async () => conn.close());

const first = parseConfig({
  providers: {
    relay: {
      type: 'openai',
      baseUrls: ['https://a.example/v1', 'https://b.example/v1'],
      headers: { 'x-title': 'sy' },
    },
    m: { type: 'mock' },
  },
  routes: {
    'gpt-4o-mini': {
      targets: [
        { provider: 'relay', model: 'gpt-4o-mini' },
        { provider: 'm', model: 'echo' },
      ],
    },
    old: { targets: [{ provider: 'm', model: 'echo' }] },
  },
  prices: { 'relay/gpt-4o-mini': { input: 0.15, output: 0.6 } },
});

describe('DynamoRouteStore', () => {
  it('round-trips a config through the table', async () => {
    await store.sync(first);
    expect(await store.load()).toEqual(first);
  });

  it('makes the table hold exactly the new config on re-sync', async () => {
    const next = parseConfig({
      providers: { m: { type: 'mock' } },
      routes: { fresh: { strategy: 'weighted', targets: [{ provider: 'm', model: 'echo', weight: 2 }] } },
    });
    expect(await store.sync(next)).toEqual({ put: 2, deleted: 4 });
    expect(await store.load()).toEqual(next);
  });

  it('rejects a table whose items do not form a valid config, naming the path', async () => {
    await conn.client.send(
      new PutItemCommand({
        TableName: conn.tableName(CONFIG_TABLE),
        Item: {
          pk: { S: 'route' },
          sk: { S: 'broken' },
          doc: { S: JSON.stringify({ targets: [{ provider: 'ghost', model: 'x' }] }) },
        },
      }),
    );
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toContain(
      'routes.broken.targets.0.provider: unknown provider "ghost"',
    );
  });

  it('refuses an item named __proto__ as a name, instead of taking it as a prototype', async () => {
    await store.sync(parseConfig({ providers: { m: { type: 'mock' } }, routes: {} }));
    await conn.client.send(
      new PutItemCommand({
        TableName: conn.tableName(CONFIG_TABLE),
        Item: {
          pk: { S: 'route' },
          sk: { S: '__proto__' },
          doc: { S: JSON.stringify({ targets: [{ provider: 'm', model: 'echo' }] }) },
        },
      }),
    );
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatch(/^routes\.__proto__: /);
  });
});
