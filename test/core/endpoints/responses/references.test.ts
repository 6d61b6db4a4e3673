import { describe, expect, it } from 'vitest';
import {
  inlineReferences,
  loadReferences,
  MAX_REFERENCED_RESPONSES,
  responseIdOfItem,
} from '../../../../functions/core/endpoints/responses/references.ts';
import { itemId } from '../../../../functions/core/endpoints/responses/response-object.ts';
import { chatFromResponses } from '../../../../functions/core/endpoints/responses/to-chat.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { MemoryResponseStore } from '../../../../functions/core/stores/memory-response-store.ts';
import { newStoredResponse, type ResponseStore } from '../../../../functions/core/stores/response-store.ts';

const HEX = '0123456789abcdef0123456789abcdef';
const RESP = `resp_${HEX}`;
const MSG = itemId({ id: RESP }, 'msg', 0);
const answer: Json = {
  id: MSG,
  type: 'message',
  status: 'completed',
  role: 'assistant',
  content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'echo: my name is Ada' }],
};

/** A store holding one translated answer of `keyId`, counting its reads. */
async function storeWith(keyId: string, id = RESP, output: Json[] = [answer]) {
  const mem = new MemoryResponseStore({ epochMs: () => 1_700_000_000_000 });
  await mem.put(
    newStoredResponse({
      id,
      keyId,
      route: 'r',
      createdAt: 1_700_000_000,
      ttlDays: 30,
      input: [],
      output,
      response: { id, object: 'response', output },
    }),
  );
  const reads: string[] = [];
  const store: ResponseStore = {
    get: (i) => {
      reads.push(i);
      return mem.get(i);
    },
    put: (r) => mem.put(r),
    delete: (i) => mem.delete(i),
  };
  return { store, reads };
}

const ref = (id: string): Json => ({ type: 'item_reference', id });

describe('responseIdOfItem', () => {
  it('names the response of an item the gateway made, and nothing for any other id', () => {
    expect(responseIdOfItem(MSG)).toBe(RESP);
    expect(responseIdOfItem(itemId({ id: RESP }, 'fc', 12))).toBe(RESP);
    expect(responseIdOfItem('msg_67c9fdcecf488190bdd9a0a9f7a17b96')).toBeUndefined(); // OpenAI's own
    expect(responseIdOfItem(itemId({ id: RESP }, 'call', 0))).toBeUndefined(); // a call_id, not an item
    expect(responseIdOfItem(`${MSG}0000000`)).toBeUndefined();
  });
});

describe('loadReferences', () => {
  it('reads the item a reference names from the key’s stored response, once per response', async () => {
    const { store, reads } = await storeWith('key_a');
    const refs = await loadReferences(
      [{ role: 'user', content: 'hi' }, ref(MSG), ref(MSG), ref('msg_openai_own')],
      store,
      'key_a',
    );
    expect([...refs.entries()]).toEqual([[MSG, answer]]);
    expect(reads).toEqual([RESP]);
  });

  it('resolves nothing of another key’s response, and reads nothing without references', async () => {
    const { store, reads } = await storeWith('key_a');
    expect((await loadReferences([ref(MSG)], store, 'key_b')).size).toBe(0);
    expect((await loadReferences('a string input', store, 'key_a')).size).toBe(0);
    expect((await loadReferences([{ role: 'user', content: 'x' }], store, 'key_a')).size).toBe(0);
    expect(reads).toEqual([RESP]);
  });

  it(`reads at most ${MAX_REFERENCED_RESPONSES} stored responses for one request`, async () => {
    const { store, reads } = await storeWith('key_a');
    const hex = (i: number) => i.toString(16).padStart(32, '0');
    const many = Array.from({ length: MAX_REFERENCED_RESPONSES + 10 }, (_, i) =>
      ref(itemId({ id: `resp_${hex(i)}` }, 'msg', 0)),
    );
    await loadReferences(many, store, 'key_a');
    expect(reads).toHaveLength(MAX_REFERENCED_RESPONSES);
  });
});

describe('loadReferences: what the reads may bring back', () => {
  it('stops reading once the responses read hold more than a conversation may (32 MiB)', async () => {
    const mem = new MemoryResponseStore({ epochMs: () => 1_700_000_000_000 });
    const hex = (i: number) => i.toString(16).padStart(32, '0');
    const big = 'x'.repeat(3 * 1024 * 1024); // 3 MiB of input per response: 16 of them are past 32 MiB
    for (let i = 0; i < 40; i++) {
      const id = `resp_${hex(i)}`;
      const output = [{ ...answer, id: itemId({ id }, 'msg', 0) }];
      await mem.put(
        newStoredResponse({
          id,
          keyId: 'key_a',
          route: 'r',
          createdAt: 1_700_000_000,
          ttlDays: 30,
          input: [{ role: 'user', content: big }],
          output,
          response: { id, object: 'response', output },
        }),
      );
    }
    let reads = 0;
    const store: ResponseStore = {
      get: (i, o) => {
        reads++;
        return mem.get(i, o);
      },
      put: (r) => mem.put(r),
      delete: (i) => mem.delete(i),
    };
    const refs = Array.from({ length: 40 }, (_, i) => ref(itemId({ id: `resp_${hex(i)}` }, 'msg', 0)));
    const found = await loadReferences(refs, store, 'key_a');
    // One batch of 16 (48 MiB) spends the budget: the next batches are not read, their references unresolved.
    expect(reads).toBe(16);
    expect(found.size).toBe(16);
  });
});

describe('inlineReferences', () => {
  const refs = new Map([[MSG, answer]]);

  it('puts the item in place of its reference, without its id for a provider', () => {
    const items = [{ role: 'user', content: 'hi' }, ref(MSG), ref('msg_openai_own')];
    const { id: _, ...withoutId } = answer;
    expect(inlineReferences(items, refs, false)).toEqual([items[0], withoutId, items[2]]);
    expect(inlineReferences(items, refs, true)).toEqual([items[0], answer, items[2]]);
  });

  it('lets a chat target take a conversation whose assistant turns are references', () => {
    const input = [
      { role: 'user', content: 'my name is Ada' },
      ref(MSG),
      { role: 'user', content: 'my name?' },
    ];
    const { chat } = chatFromResponses({ model: 'm', input }, [], refs);
    expect(chat.messages).toEqual([
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'echo: my name is Ada' },
      { role: 'user', content: 'my name?' },
    ]);
  });
});
