/**
 * Stored Responses in DynamoDB (the responses table; locally the same table in the embedded dynalite). Layout
 * in functions/core/stores/tables.ts (RESPONSES_TABLE).
 *
 * DynamoDB refuses items over 400 KB, and a conversation with an image or a long tool output passes that: the
 * record's JSON (input items, output items, Response object) is gzipped, kept in the head item when it fits
 * and otherwise cut into part items. The parts are written first and the head last, on condition that no head
 * exists: a response whose head is missing (a crash mid-write) does not exist for readers, and a second write
 * of an id fails without touching the first one's parts (each write's parts carry its own `writeId`). A read
 * takes only the parts of the head's write and returns nothing if any is missing (a delete in progress).
 * `expiresAt` (epoch seconds) is on every item for DynamoDB's TTL, which deletes up to days late: reads
 * compare it with the clock themselves.
 */
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { Clock } from '../../core/ports.ts';
import {
  ANCESTOR_HINTS,
  assertStorable,
  isExpired,
  isResponseId,
  MAX_RESPONSE_ID_LENGTH,
  type ReadOptions,
  type ResponseStore,
  ResponseStoreError,
  type StoredResponse,
} from '../../core/stores/response-store.ts';

type Item = Record<string, AttributeValue>;

/** A read the request's signal can abandon (the SDK stops waiting and rejects with an AbortError). */
const sendOptions = (signal: AbortSignal | undefined) =>
  signal === undefined ? {} : { abortSignal: signal };

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Compressed bytes per item. The limit (400 KB) counts attribute names and values; the head's other
 * attributes take at most ~1.5 KB (ids and route ≤ 256 characters each), so 350,000 leaves ample room.
 */
export const PART_BYTES = 350_000;
/** Parts per response, at most: 256 × 350 KB ≈ 90 MB compressed, past any answer a route lets through. */
export const MAX_PARTS = 256;
/** A stored document never inflates past this (a bound against a corrupted item, not a size we expect). */
const MAX_DOC_BYTES = 256 * 1024 * 1024;

/** The stored document: the record's content, parsed on the way back (it is data from outside the process). */
const docSchema = z.object({
  input: z.array(z.record(z.string(), z.unknown())),
  output: z.array(z.record(z.string(), z.unknown())),
  response: z.record(z.string(), z.unknown()),
  ancestors: z.array(z.string()).max(ANCESTOR_HINTS).optional(),
  servedBy: z.object({ provider: z.string().max(MAX_RESPONSE_ID_LENGTH), native: z.boolean() }).optional(),
});

const HEAD = 'head';
const keyOf = (id: string) => ({ pk: { S: `resp#${id}` } });
const partSk = (writeId: string, i: number) => `part#${writeId}#${String(i).padStart(4, '0')}`;

export interface DynamoResponseStoreOptions {
  /** Expiry is judged by this clock's wall time. */
  readonly clock: Pick<Clock, 'epochMs'>;
}

export class DynamoResponseStore implements ResponseStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly opts: DynamoResponseStoreOptions,
  ) {}

  async put(r: StoredResponse): Promise<void> {
    assertStorable(r);
    const doc = {
      input: r.input,
      output: r.output,
      response: r.response,
      ...(r.ancestors === undefined ? {} : { ancestors: r.ancestors.slice(-ANCESTOR_HINTS) }),
      ...(r.servedBy === undefined ? {} : { servedBy: r.servedBy }),
    };
    const packed = await gzipAsync(JSON.stringify(doc));
    const inline = packed.byteLength <= PART_BYTES;
    const parts = inline ? 0 : Math.ceil(packed.byteLength / PART_BYTES);
    if (parts > MAX_PARTS) {
      throw new ResponseStoreError(
        'too_large',
        `response ${r.id} is ${packed.byteLength} bytes gzipped; at most ${MAX_PARTS * PART_BYTES} are stored`,
      );
    }
    const writeId = randomUUID();
    const expiresAt = { N: String(r.expiresAt) };
    const partItems: Item[] = [];
    for (let i = 0; i < parts; i++) {
      const chunk = packed.subarray(i * PART_BYTES, (i + 1) * PART_BYTES);
      partItems.push({ ...keyOf(r.id), sk: { S: partSk(writeId, i) }, doc: { B: chunk }, expiresAt });
    }
    await this.batchWrite(partItems.map((Item) => ({ PutRequest: { Item } })));
    const head: Item = {
      ...keyOf(r.id),
      sk: { S: HEAD },
      keyId: { S: r.keyId },
      route: { S: r.route },
      createdAt: { N: String(r.createdAt) },
      expiresAt,
      writeId: { S: writeId },
      parts: { N: String(parts) },
      ...(r.previousResponseId === undefined ? {} : { prev: { S: r.previousResponseId } }),
      ...(inline ? { doc: { B: packed } } : {}),
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: head,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // This write's parts are nobody's: remove them now rather than leave them to the TTL.
      await this.batchWrite(
        partItems.map((p) => ({ DeleteRequest: { Key: { pk: p.pk!, sk: p.sk! } } })),
      ).catch(() => {});
      throw new ResponseStoreError('id_taken', `response ${r.id} is already stored`);
    }
  }

  async get(id: string, opts: ReadOptions = {}): Promise<StoredResponse | undefined> {
    if (!isResponseId(id)) return undefined;
    const signal = opts.signal;
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { ...keyOf(id), sk: { S: HEAD } },
        ConsistentRead: true,
      }),
      sendOptions(signal),
    );
    if (res.Item === undefined) return undefined;
    const head = parseHead(id, res.Item);
    if (isExpired(head, this.opts.clock.epochMs())) return undefined;
    // Another key's response is judged by its head: its parts (up to MAX_PARTS reads) are never read.
    if (opts.keyId !== undefined && head.keyId !== opts.keyId) return undefined;
    const packed = head.parts === 0 ? head.doc : await this.readParts(id, head.writeId, head.parts, signal);
    if (packed === undefined) return undefined;
    const text = (await gunzipAsync(packed, { maxOutputLength: MAX_DOC_BYTES })).toString('utf8');
    const doc = docSchema.parse(JSON.parse(text));
    return {
      id,
      keyId: head.keyId,
      route: head.route,
      createdAt: head.createdAt,
      expiresAt: head.expiresAt,
      input: doc.input,
      output: doc.output,
      response: doc.response,
      ...(head.prev === undefined ? {} : { previousResponseId: head.prev }),
      ...(doc.ancestors === undefined ? {} : { ancestors: doc.ancestors }),
      ...(doc.servedBy === undefined ? {} : { servedBy: doc.servedBy }),
    };
  }

  async delete(id: string): Promise<boolean> {
    if (!isResponseId(id)) return false;
    // The head first: from then on no reader gets the response, whatever happens to the parts.
    const old = await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { ...keyOf(id), sk: { S: HEAD } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const rest: WriteRequest[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keyOf(id).pk },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      },
    );
    // Every other item under the id: the parts of its write, and of any write whose head was refused or lost.
    for await (const page of pages) {
      for (const k of page.Items ?? []) {
        if (k.pk !== undefined && k.sk !== undefined)
          rest.push({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } });
      }
    }
    await this.batchWrite(rest);
    const expiresAt = Number(old.Attributes?.expiresAt?.N);
    return old.Attributes !== undefined && !isExpired({ expiresAt }, this.opts.clock.epochMs());
  }

  /** The parts of one write, joined; undefined when any is missing (the response is being deleted). */
  private async readParts(
    id: string,
    writeId: string,
    count: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array | undefined> {
    const chunks: Uint8Array[] = [];
    let from: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :w)',
          ExpressionAttributeValues: { ':pk': keyOf(id).pk, ':w': { S: `part#${writeId}#` } },
          ConsistentRead: true,
          ExclusiveStartKey: from,
        }),
        sendOptions(signal),
      );
      for (const item of page.Items ?? []) {
        // Sorted by `sk`, whose index is zero-padded: part i is the i-th item, or a part is missing.
        if (item.sk?.S !== partSk(writeId, chunks.length) || item.doc?.B === undefined) return undefined;
        chunks.push(item.doc.B);
        if (chunks.length > count) return undefined;
      }
      from = page.LastEvaluatedKey;
    } while (from !== undefined);
    return chunks.length === count ? Buffer.concat(chunks) : undefined;
  }

  /** BatchWriteItem, 25 requests per call, retrying what DynamoDB leaves unprocessed (with backoff). */
  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch: WriteRequest[] | undefined = requests.slice(i, i + 25);
      for (let tries = 0; batch !== undefined && batch.length > 0; tries++) {
        if (tries > 8) throw new Error('responses store: DynamoDB kept items unprocessed');
        if (tries > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** tries)));
        const res: BatchWriteItemCommandOutput = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: batch } }),
        );
        batch = res.UnprocessedItems?.[this.tableName];
      }
    }
  }
}

interface Head {
  readonly keyId: string;
  readonly route: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly writeId: string;
  readonly parts: number;
  readonly prev?: string;
  readonly doc?: Uint8Array;
}

/** A head item's attributes; a head without them is a corrupted item, not a missing response: it throws. */
function parseHead(id: string, item: Item): Head {
  const num = (v: AttributeValue | undefined) => (v?.N === undefined ? Number.NaN : Number(v.N));
  const head = {
    keyId: item.keyId?.S,
    route: item.route?.S,
    createdAt: num(item.createdAt),
    expiresAt: num(item.expiresAt),
    writeId: item.writeId?.S,
    parts: num(item.parts),
  };
  const { keyId, route, writeId } = head;
  const ok =
    keyId !== undefined &&
    route !== undefined &&
    writeId !== undefined &&
    Number.isFinite(head.createdAt) &&
    Number.isFinite(head.expiresAt) &&
    Number.isInteger(head.parts) &&
    head.parts >= 0 &&
    head.parts <= MAX_PARTS &&
    (head.parts > 0 || item.doc?.B !== undefined);
  if (!ok) throw new Error(`responses store: the head item of ${id} is malformed`);
  return {
    keyId,
    route,
    writeId,
    createdAt: head.createdAt,
    expiresAt: head.expiresAt,
    parts: head.parts,
    ...(item.prev?.S === undefined ? {} : { prev: item.prev.S }),
    ...(item.doc?.B === undefined ? {} : { doc: item.doc.B }),
  };
}
