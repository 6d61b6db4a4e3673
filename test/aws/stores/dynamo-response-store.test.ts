/**
 * Stored Responses in DynamoDB (dynalite, the embedded store the local gateway runs): the ResponseStore contract,
 * then what only this adapter has to get right — DynamoDB's 400 KB item limit (gzip, then parts), a write cut
 * before its head, deletes that leave nothing behind, and the TTL attribute on every item.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoResponseStore, PART_BYTES } from '../../../functions/aws/stores/dynamo-response-store.ts';
import {
  conversationOf,
  newStoredResponse,
  PreviousResponseNotFoundError,
  type ResponseStoreError,
  type StoredResponse,
} from '../../../functions/core/stores/response-store.ts';
import { RESPONSES_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import {
  responseStoreContract,
  type StoreUnderTest,
  sampleResponse,
  T0,
} from '../../core/stores/response-store-contract.ts';
import { faultyClient } from '../support/faulty-dynamo.ts';

let conn: StoreConnection;
let table: string;
const clock = { nowMs: T0 * 1000 };
const storeOn = (client: DynamoDBClient) =>
  new DynamoResponseStore(client, table, { clock: { epochMs: () => clock.nowMs } });
let sut: StoreUnderTest;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  table = conn.tableName(RESPONSES_TABLE);
  sut = { store: storeOn(conn.client), clock };
});
afterAll(async () => conn.close());
beforeEach(() => {
  clock.nowMs = T0 * 1000;
});

responseStoreContract('DynamoResponseStore', () => sut);

/** Every item stored under a response id, as DynamoDB holds them (all pages: a page stops at 1 MB). */
async function itemsOf(id: string) {
  const pages = paginateQuery(
    { client: conn.client },
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `resp#${id}` } },
      ConsistentRead: true,
    },
  );
  const items = [];
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

/** The size DynamoDB counts for an item: attribute names plus values (strings in UTF-8, binaries raw). */
const itemBytes = (item: Record<string, { S?: string; N?: string; B?: Uint8Array }>) =>
  Object.entries(item).reduce(
    (n, [name, v]) => n + Buffer.byteLength(name) + (v.B?.byteLength ?? Buffer.byteLength(v.S ?? v.N ?? '')),
    0,
  );

/** A user turn with an inline image of `bytes` random bytes (base64: incompressible, like a real photo). */
function withImage(bytes: number, over: Partial<StoredResponse> = {}): StoredResponse {
  const image = `data:image/png;base64,${randomBytes(bytes).toString('base64')}`;
  return sampleResponse({
    input: [
      {
        type: 'message',
        role: 'user',
        content: [
          { type: 'input_text', text: 'What is in this picture?' },
          { type: 'input_image', image_url: image, detail: 'auto' },
        ],
      },
    ],
    ...over,
  });
}

describe('DynamoResponseStore: the 400 KB item limit', () => {
  it('is real in the store under test: an item over 400 KB is refused', async () => {
    const put = conn.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: 'resp#too-big' }, sk: { S: 'x' }, doc: { B: randomBytes(410 * 1024) } },
      }),
    );
    await expect(put).rejects.toThrow(/size/i);
  });

  it('keeps a response that compresses under the limit in one item, even when its JSON is over it', async () => {
    const long = 'The quick brown fox jumps over the lazy dog. '.repeat(25_000); // ~1.1 MB of text
    const r = sampleResponse({ output: [{ type: 'message', role: 'assistant', content: long }] });
    await sut.store.put(r);
    const items = await itemsOf(r.id);
    expect(items.map((i) => i.sk?.S)).toEqual(['head']);
    expect(await sut.store.get(r.id)).toEqual(r);
  });

  it('splits a response with a 1.5 MB image into parts under the limit and reads it back whole', async () => {
    const r = withImage(1_500_000);
    await sut.store.put(r);
    const items = await itemsOf(r.id);
    const parts = items.filter((i) => i.sk?.S?.startsWith('part#'));
    // 2 MB of base64 gzips to ~1.5 MB (6 bits of 8 carry data): five parts of PART_BYTES.
    expect(parts.length).toBe(5);
    expect(parts.length).toBeGreaterThan(1_500_000 / PART_BYTES);
    for (const item of items) expect(itemBytes(item)).toBeLessThan(400 * 1024);
    expect(await sut.store.get(r.id)).toEqual(r);
  });

  it("reads only the head of another key's response: none of its parts", async () => {
    const r = withImage(800_000);
    await sut.store.put(r);
    const calls: string[] = [];
    const counting = {
      send: (command: { constructor: { name: string } }, opts?: unknown) => {
        calls.push(command.constructor.name);
        return (conn.client.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, opts);
      },
    } as unknown as DynamoDBClient;
    const store = storeOn(counting);
    expect(await store.get(r.id, { keyId: 'key_bob' })).toBeUndefined();
    expect(calls).toEqual(['GetItemCommand']);
    expect(await store.get(r.id, { keyId: r.keyId })).toEqual(r);
    expect(calls).toEqual(['GetItemCommand', 'GetItemCommand', 'QueryCommand']);
  });

  it('refuses a second write of a big response and keeps the first one readable', async () => {
    const r = withImage(800_000);
    await sut.store.put(r);
    const again = await sut.store.put(withImage(800_000, { id: r.id })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((again as ResponseStoreError).reason).toBe('id_taken');
    expect(await sut.store.get(r.id)).toEqual(r);
    // The refused write took its parts back with it.
    const writeIds = new Set((await itemsOf(r.id)).map((i) => i.sk?.S?.split('#')[1]));
    expect(writeIds.size).toBe(2); // `head` (undefined) and the first write's parts
  });

  it('puts expiresAt (epoch seconds) on every item, head and parts, for the TTL', async () => {
    const r = withImage(500_000, { expiresAt: T0 + 3600 });
    await sut.store.put(r);
    const items = await itemsOf(r.id);
    expect(items.length).toBeGreaterThan(1);
    for (const item of items) expect(item.expiresAt).toEqual({ N: String(T0 + 3600) });
  });
});

describe('DynamoResponseStore: partial writes and deletes', () => {
  it('does not return a response whose head was never written (a crash after its parts)', async () => {
    const r = withImage(900_000);
    const heads = (c: unknown) => c instanceof PutItemCommand && (c.input.Item?.sk?.S ?? '') === 'head';
    const broken = faultyClient(conn.client, { only: heads, at: 0, fault: 'lost' });
    await expect(storeOn(broken.client).put(r)).rejects.toThrow(/lost/);
    const items = await itemsOf(r.id);
    expect(items.length).toBeGreaterThan(1); // the parts are there…
    expect(items.some((i) => i.sk?.S === 'head')).toBe(false);
    expect(await sut.store.get(r.id)).toBeUndefined(); // …but the response is not
    // And the id is not burnt: the pipeline's retry of the same record stores it.
    await sut.store.put(r);
    expect(await sut.store.get(r.id)).toEqual(r);
  });

  it('does not return a response with a part missing (a delete half done)', async () => {
    const r = withImage(900_000);
    await sut.store.put(r);
    const part = (await itemsOf(r.id)).find((i) => i.sk?.S?.endsWith('#0001'));
    expect(part).toBeDefined();
    await conn.client.send(
      new DeleteItemCommand({ TableName: table, Key: { pk: part!.pk!, sk: part!.sk! } }),
    );
    expect(await sut.store.get(r.id)).toBeUndefined();
  });

  it('removes every item of a response on delete, the parts of a write that never finished included', async () => {
    const r = withImage(900_000);
    const heads = (c: unknown) => c instanceof PutItemCommand && c.input.Item?.sk?.S === 'head';
    await storeOn(faultyClient(conn.client, { only: heads, at: 0, fault: 'lost' }).client)
      .put(r)
      .catch(() => {});
    await sut.store.put(r);
    expect(new Set((await itemsOf(r.id)).map((i) => i.sk?.S?.split('#')[1])).size).toBe(3);
    expect(await sut.store.delete(r.id)).toBe(true);
    expect(await itemsOf(r.id)).toEqual([]);
  });
});

describe('DynamoResponseStore: conversations', () => {
  it('rebuilds a chain in order across responses of every size, and refuses it to another key', async () => {
    const first = withImage(600_000, { id: 'resp_chain_0' });
    await sut.store.put(first);
    let previous = await conversationOf(sut.store, first.id, first.keyId);
    for (const i of [1, 2]) {
      const id = `resp_chain_${i}`;
      await sut.store.put(
        newStoredResponse({
          id,
          keyId: first.keyId,
          route: 'gpt-4o-mini',
          createdAt: T0 + i,
          ttlDays: 30,
          input: [{ type: 'message', role: 'user', content: `turn ${i}` }],
          output: [
            { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${i}` }] },
          ],
          response: { id, object: 'response' },
          previous,
        }),
      );
      previous = await conversationOf(sut.store, id, first.keyId);
    }
    expect(previous.ids).toEqual(['resp_chain_0', 'resp_chain_1', 'resp_chain_2']);
    expect(previous.items).toEqual([
      ...first.input,
      ...first.output,
      { type: 'message', role: 'user', content: 'turn 1' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer 1' }] },
      { type: 'message', role: 'user', content: 'turn 2' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer 2' }] },
    ]);
    await expect(conversationOf(sut.store, 'resp_chain_2', 'key_bob')).rejects.toBeInstanceOf(
      PreviousResponseNotFoundError,
    );
    // Past the expiry of the first one, the chain is gone for its owner too.
    clock.nowMs = (first.expiresAt + 1) * 1000;
    await expect(conversationOf(sut.store, 'resp_chain_2', first.keyId)).rejects.toBeInstanceOf(
      PreviousResponseNotFoundError,
    );
  });
});
