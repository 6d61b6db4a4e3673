/** The scale bench's counting layer: DynamoDB's item-size and write-unit rules, pure and through the SDK. */
import {
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS_TABLE, USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import {
  connectStore,
  type StoreConnection,
  startEmbeddedStore,
} from '../../../functions/local/embedded-store.ts';
import { CallCounter } from './counting-client.ts';
import { batchWriteUnits, indexWrites, itemSize, transactWriteUnits, valueSize, writeUnits } from './wcu.ts';

/** An item of `bytes` bytes: `pk` (2 + 3 bytes) and a string attribute `d` filling the rest. */
const sized = (bytes: number, pk = 'k-1') => ({ pk: { S: pk }, d: { S: 'x'.repeat(bytes - 3 - pk.length) } });

describe('item sizes', () => {
  it('counts names and values: UTF-8 strings, numbers by significant digits, maps and lists with overhead', () => {
    expect(itemSize({ ab: { S: 'héllo' } })).toBe(2 + 6);
    expect(valueSize({ N: '12345' })).toBe(4); // 3 bytes for 5 digits + 1
    expect(valueSize({ N: '-0.000120' })).toBe(2); // "12"
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ M: { a: { N: '1' } } })).toBe(3 + 1 + 1 + 2);
    expect(valueSize({ L: [{ S: 'ab' }, { S: 'c' }] })).toBe(3 + (1 + 2) + (1 + 1));
    expect(itemSize(sized(1536))).toBe(1536);
  });
});

describe('write units', () => {
  it('bills a 1.5 KB put as 2 WCU and a 1 KB one as 1', () => {
    expect(writeUnits(undefined, sized(1536))).toBe(2);
    expect(writeUnits(undefined, sized(1024))).toBe(1);
    expect(writeUnits(undefined, sized(1025))).toBe(2);
  });

  it('bills an update by the larger of the item before and after: 0.9 KB → 1.1 KB is 2 WCU', () => {
    expect(writeUnits(sized(922), sized(1126))).toBe(2);
    expect(writeUnits(sized(1126), sized(922))).toBe(2);
    expect(writeUnits(sized(100), sized(200))).toBe(1);
  });

  it('bills each item of a batch: three small items are 3 WCU', () => {
    expect(batchWriteUnits([sized(100, 'a'), sized(100, 'b'), sized(100, 'c')])).toBe(3);
  });

  it('bills a transaction twice', () => {
    expect(transactWriteUnits([{ after: sized(100) }, { before: sized(1500), after: sized(1500) }])).toBe(
      2 + 4,
    );
  });

  it('counts index writes: one on entry or in-place change, two when the index key moves, none unchanged', () => {
    const ix = { name: 'byTime', partitionKey: 'g', sortKey: 's' };
    const a = { pk: { S: 'r' }, g: { S: 'd#1' }, s: { S: 't1' }, v: { BOOL: false } };
    const b = { ...a, v: { BOOL: true } };
    expect(indexWrites(ix, undefined, a)).toEqual([{ index: 'byTime', partition: 'd#1', wcu: 1 }]);
    expect(indexWrites(ix, a, b)).toHaveLength(1);
    expect(indexWrites(ix, a, { ...a, g: { S: 'd#2' } })).toHaveLength(2);
    expect(indexWrites(ix, a, a)).toEqual([]);
    expect(indexWrites(ix, { pk: { S: 'r' } }, { pk: { S: 'r' }, v: { N: '1' } })).toEqual([]);
  });
});

describe('CallCounter', () => {
  let conn: StoreConnection;
  let peeker: DynamoDBClient;
  let counter: CallCounter;
  const keys = () => conn.tableName(KEYS_TABLE);

  beforeAll(async () => {
    conn = await startEmbeddedStore(undefined);
    peeker = connectStore(conn.socket);
    counter = new CallCounter(peeker, new Map([KEYS_TABLE, USAGE_TABLE].map((d) => [conn.tableName(d), d])));
    counter.attach(conn.client);
  });
  afterAll(async () => {
    peeker.destroy();
    await conn.close();
  });

  it('counts a 1.5 KB put as one write of 2 WCU, before the upstream call', async () => {
    counter.begin();
    await conn.client.send(new PutItemCommand({ TableName: keys(), Item: sized(1536, 'put-1') }));
    const [call, ...rest] = counter.end();
    expect(rest).toEqual([]);
    expect(call).toMatchObject({
      command: 'PutItem',
      write: true,
      wcu: 2,
      beforeUpstream: true,
      items: ['put-1'],
    });
  });

  it('counts an update growing an item from 0.9 KB to 1.1 KB as 2 WCU, after the upstream call', async () => {
    await conn.client.send(new PutItemCommand({ TableName: keys(), Item: sized(922, 'grow-1') }));
    counter.begin();
    counter.upstream();
    await conn.client.send(
      new UpdateItemCommand({
        TableName: keys(),
        Key: { pk: { S: 'grow-1' } },
        UpdateExpression: 'SET e = :e',
        ExpressionAttributeValues: { ':e': { S: 'y'.repeat(203) } },
      }),
    );
    const calls = counter.end();
    expect(calls.map((c) => [c.command, c.wcu, c.itemBytes, c.beforeUpstream])).toEqual([
      ['UpdateItem', 2, 922 + 1 + 203, false],
    ]);
  });

  it('counts a BatchWrite of three small items as one call of 3 WCU touching three partitions', async () => {
    counter.begin();
    await conn.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [keys()]: ['b-1', 'b-2', 'b-3'].map((pk) => ({ PutRequest: { Item: sized(100, pk) } })),
        },
      }),
    );
    const [call] = counter.end();
    expect(call).toMatchObject({ command: 'BatchWriteItem', wcu: 3, partitions: ['b-1', 'b-2', 'b-3'] });
  });

  it('counts nothing outside a request', async () => {
    await conn.client.send(new PutItemCommand({ TableName: keys(), Item: sized(100, 'quiet') }));
    counter.begin();
    expect(counter.end()).toEqual([]);
  });
});
