/**
 * The pure logic over the ResponseStore port: a conversation rebuilt from its `previous_response_id` chain
 * (order, owner, bounds, read-ahead), the owner check of GET/DELETE, and the record the pipeline stores.
 */
import { describe, expect, it } from 'vitest';
import type { Json } from '../../../functions/core/json.ts';
import { MemoryResponseStore } from '../../../functions/core/stores/memory-response-store.ts';
import {
  ANCESTOR_HINTS,
  type Conversation,
  conversationOf,
  newStoredResponse,
  ownedResponse,
  PreviousResponseNotFoundError,
  ResponseNotFoundError,
  type ResponseStore,
  type StoredResponse,
} from '../../../functions/core/stores/response-store.ts';
import { T0 } from './response-store-contract.ts';

const user = (text: string): Json => ({ type: 'message', role: 'user', content: text });
const assistant = (text: string): Json => ({
  type: 'message',
  role: 'assistant',
  content: [{ type: 'output_text', text }],
});

function memoryStore(nowS = T0) {
  const clock = { nowMs: nowS * 1000 };
  return { store: new MemoryResponseStore({ epochMs: () => clock.nowMs }), clock };
}

/**
 * Stores `turns` responses the way the pipeline will: each one continues the conversation of the one before
 * (`turn-<i>` in, `answer-<i>` out), and returns their ids oldest first.
 */
async function storeChain(store: ResponseStore, turns: number, keyId = 'key_alice'): Promise<string[]> {
  let previous: Conversation | undefined;
  const ids: string[] = [];
  for (let i = 0; i < turns; i++) {
    const id = `resp_${keyId}_${i}`;
    const r = newStoredResponse({
      id,
      keyId,
      route: 'gpt-4o-mini',
      createdAt: T0 + i,
      ttlDays: 30,
      input: [user(`turn-${i}`)],
      output: [assistant(`answer-${i}`)],
      response: { id, object: 'response' },
      ...(previous === undefined ? {} : { previous }),
    });
    await store.put(r);
    ids.push(id);
    previous = await conversationOf(store, id, keyId);
  }
  return ids;
}

const texts = (c: Conversation) =>
  c.items.map((item) => {
    const content = item.content;
    return typeof content === 'string' ? content : (content as { text: string }[])[0]?.text;
  });

/** Rejections of `p` as the error they are (or undefined when it resolved). */
const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('conversationOf', () => {
  it('gives the whole chain oldest first: each response its input items, then its output items', async () => {
    const { store } = memoryStore();
    const ids = await storeChain(store, 3);
    const c = await conversationOf(store, ids[2]!, 'key_alice');
    expect(c.ids).toEqual(ids);
    expect(texts(c)).toEqual(['turn-0', 'answer-0', 'turn-1', 'answer-1', 'turn-2', 'answer-2']);
    // Each response's input and output arrays as JSON (ASCII here, so characters are bytes).
    const sizeOf = (i: number) =>
      JSON.stringify([user(`turn-${i}`)]).length + JSON.stringify([assistant(`answer-${i}`)]).length;
    expect(c.bytes).toBe(sizeOf(0) + sizeOf(1) + sizeOf(2));
    // From the middle: only the part of the chain up to it.
    expect((await conversationOf(store, ids[1]!, 'key_alice')).ids).toEqual(ids.slice(0, 2));
  });

  it("refuses another key's response as not found (400 previous_response_not_found, OpenAI's shape)", async () => {
    const { store } = memoryStore();
    const [id] = await storeChain(store, 1, 'key_alice');
    const err = await failureOf(conversationOf(store, id!, 'key_bob'));
    expect(err).toBeInstanceOf(PreviousResponseNotFoundError);
    expect(err).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      code: 'previous_response_not_found',
      param: 'previous_response_id',
      message: `Previous response with id '${id}' not found.`,
    });
  });

  it('refuses a chain with a response missing, expired or of another key, naming only the id asked for', async () => {
    const { store, clock } = memoryStore();
    const ids = await storeChain(store, 3);
    await store.delete(ids[0]!);
    const err = await failureOf(conversationOf(store, ids[2]!, 'key_alice'));
    expect(err).toBeInstanceOf(PreviousResponseNotFoundError);
    expect((err as Error).message).toContain(ids[2]);
    expect((err as Error).message).not.toContain(ids[0]);

    const other = memoryStore();
    const mixed = await storeChain(other.store, 1, 'key_bob');
    // A response of alice's that (wrongly) links to bob's: the walk must not hand bob's items to alice.
    await other.store.put({
      ...newStoredResponse({
        id: 'resp_alice_on_bob',
        keyId: 'key_alice',
        route: 'r',
        createdAt: T0,
        ttlDays: 1,
        input: [],
        output: [],
        response: {},
      }),
      previousResponseId: mixed[0]!,
    });
    expect(await failureOf(conversationOf(other.store, 'resp_alice_on_bob', 'key_alice'))).toBeInstanceOf(
      PreviousResponseNotFoundError,
    );

    clock.nowMs = (T0 + 31 * 86_400) * 1000; // past the 30-day TTL
    expect(await failureOf(conversationOf(store, ids[1]!, 'key_alice'))).toBeInstanceOf(
      PreviousResponseNotFoundError,
    );
  });

  it('refuses an id no store could hold without reading, and cuts it short in the message', async () => {
    let reads = 0;
    const store: ResponseStore = {
      put: async () => {},
      get: async () => {
        reads++;
        return undefined;
      },
      delete: async () => false,
    };
    const err = await failureOf(conversationOf(store, `resp_${'z'.repeat(5000)}`, 'key_alice'));
    expect(err).toBeInstanceOf(PreviousResponseNotFoundError);
    expect((err as Error).message.length).toBeLessThan(100);
    expect(reads).toBe(0);
  });

  it('bounds the chain length: maxResponses passes, one more is conversation_too_long', async () => {
    const { store } = memoryStore();
    const ids = await storeChain(store, 5);
    const limits = { maxResponses: 5, maxBytes: 1e9, prefetch: 4 };
    expect((await conversationOf(store, ids[4]!, 'key_alice', limits)).ids).toHaveLength(5);
    const err = await failureOf(conversationOf(store, ids[4]!, 'key_alice', { ...limits, maxResponses: 4 }));
    expect(err).toMatchObject({ status: 400, code: 'conversation_too_long', param: 'previous_response_id' });
    expect((err as Error).message).toMatch(/more than 4 responses.*without previous_response_id/);
  });

  it('bounds the total size of the items: conversation_too_large past maxBytes', async () => {
    const { store } = memoryStore();
    const ids = await storeChain(store, 4);
    const all = await conversationOf(store, ids[3]!, 'key_alice');
    const limits = { maxResponses: 100, maxBytes: all.bytes, prefetch: 4 };
    expect((await conversationOf(store, ids[3]!, 'key_alice', limits)).bytes).toBe(all.bytes);
    const err = await failureOf(
      conversationOf(store, ids[3]!, 'key_alice', { ...limits, maxBytes: all.bytes - 1 }),
    );
    expect(err).toMatchObject({ status: 400, code: 'conversation_too_large', param: 'previous_response_id' });
  });

  it('counts sizes in UTF-8 bytes, not characters', async () => {
    const { store } = memoryStore();
    const r = newStoredResponse({
      id: 'resp_cjk',
      keyId: 'k',
      route: 'r',
      createdAt: T0,
      ttlDays: 1,
      input: [user('你好')],
      output: [],
      response: {},
    });
    await store.put(r);
    const c = await conversationOf(store, 'resp_cjk', 'k');
    expect(c.bytes).toBe(Buffer.byteLength(JSON.stringify([user('你好')])) + 2);
    expect(c.bytes).toBeGreaterThan(JSON.stringify([user('你好')]).length + 2);
  });
});

/** A store that answers each read after `delayMs`, counting reads and the most in flight at once. */
function slowStore(inner: ResponseStore, delayMs: number) {
  const stats = { reads: 0, inFlight: 0, maxInFlight: 0 };
  const store: ResponseStore = {
    put: (r) => inner.put(r),
    delete: (id) => inner.delete(id),
    async get(id) {
      stats.reads++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await new Promise((r) => setTimeout(r, delayMs));
      stats.inFlight--;
      return inner.get(id);
    },
  };
  return { store, stats };
}

describe('conversationOf read-ahead', () => {
  it('reads a long chain ahead from the ancestor hints, at most `prefetch` reads past the one it waits on', async () => {
    const { store: inner } = memoryStore();
    const ids = await storeChain(inner, 40);
    const { store, stats } = slowStore(inner, 2);
    const c = await conversationOf(store, ids[39]!, 'key_alice', {
      maxResponses: 100,
      maxBytes: 1e9,
      prefetch: 8,
    });
    expect(c.ids).toEqual(ids);
    expect(stats.reads).toBe(40); // each response read once
    expect(stats.maxInFlight).toBeGreaterThan(4);
    expect(stats.maxInFlight).toBeLessThanOrEqual(9);
  });

  it('walks one read at a time when responses carry no hints, to the same conversation', async () => {
    const { store: hinted } = memoryStore();
    const ids = await storeChain(hinted, 10);
    const { store: bare } = memoryStore();
    for (const id of ids) {
      const { ancestors: _, ...r } = (await hinted.get(id)) as StoredResponse;
      await bare.put(r);
    }
    const { store, stats } = slowStore(bare, 1);
    const c = await conversationOf(store, ids[9]!, 'key_alice');
    expect(c).toEqual(await conversationOf(hinted, ids[9]!, 'key_alice'));
    expect(stats.maxInFlight).toBe(1);
  });

  it('follows the links, not the hints: wrong hints cost reads, never change the conversation', async () => {
    const { store: good } = memoryStore();
    const ids = await storeChain(good, 6);
    const { store: lying } = memoryStore();
    const decoys = await storeChain(lying, 3, 'key_decoy');
    for (const id of ids) {
      const r = (await good.get(id)) as StoredResponse;
      await lying.put({ ...r, ancestors: [...decoys, 'resp_missing'] });
    }
    const c = await conversationOf(lying, ids[5]!, 'key_alice');
    expect(c).toEqual(await conversationOf(good, ids[5]!, 'key_alice'));
  });

  it('leaves no unhandled rejection when a read ahead fails after the walk has stopped', async () => {
    const { store: inner } = memoryStore();
    const ids = await storeChain(inner, 3);
    await inner.delete(ids[1]!);
    const store: ResponseStore = {
      put: (r) => inner.put(r),
      delete: (id) => inner.delete(id),
      // The oldest one's read fails late: the walk has already given up at the missing middle one.
      get: (id) =>
        id === ids[0]
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('boom')), 20))
          : inner.get(id),
    };
    expect(await failureOf(conversationOf(store, ids[2]!, 'key_alice'))).toBeInstanceOf(
      PreviousResponseNotFoundError,
    );
    await new Promise((r) => setTimeout(r, 40)); // vitest fails the file on an unhandled rejection
  });
});

describe('ownedResponse', () => {
  it('gives the owner its response, and answers anyone else 404 response_not_found, as for a missing one', async () => {
    const { store } = memoryStore();
    const [id] = await storeChain(store, 1);
    expect((await ownedResponse(store, id!, 'key_alice')).id).toBe(id);
    for (const [asked, key] of [
      [id!, 'key_bob'],
      ['resp_missing', 'key_alice'],
      ['x'.repeat(1000), 'key_alice'],
    ] as const) {
      const err = await failureOf(ownedResponse(store, asked, key));
      expect(err).toBeInstanceOf(ResponseNotFoundError);
      expect(err).toMatchObject({ status: 404, code: 'response_not_found' });
    }
  });
});

describe('newStoredResponse', () => {
  it('sets the expiry from the TTL in days, and no link for a first response', () => {
    const r = newStoredResponse({
      id: 'resp_1',
      keyId: 'k',
      route: 'r',
      createdAt: T0,
      ttlDays: 30,
      input: [],
      output: [],
      response: {},
    });
    expect(r.expiresAt).toBe(T0 + 30 * 86_400);
    expect(r).not.toHaveProperty('previousResponseId');
    expect(r).not.toHaveProperty('ancestors');
  });

  it(`links to the conversation's last response and keeps the last ${ANCESTOR_HINTS} ids as hints`, () => {
    const ids = Array.from({ length: 100 }, (_, i) => `resp_${i}`);
    const r = newStoredResponse({
      id: 'resp_new',
      keyId: 'k',
      route: 'r',
      createdAt: T0,
      ttlDays: 1,
      input: [],
      output: [],
      response: {},
      previous: { ids },
    });
    expect(r.previousResponseId).toBe('resp_99');
    expect(r.ancestors).toEqual(ids.slice(-ANCESTOR_HINTS));
  });
});
