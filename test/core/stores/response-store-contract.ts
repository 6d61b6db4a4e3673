/**
 * The ResponseStore contract (STYLE.md rule 7): one suite every adapter runs — the in-memory one and the
 * DynamoDB one on dynalite — so they cannot drift apart.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ResponseStore,
  ResponseStoreError,
  type StoredResponse,
} from '../../../functions/core/stores/response-store.ts';

/** A store under test and the wall time its clock reads (epoch ms), which a test may move. */
export interface StoreUnderTest {
  readonly store: ResponseStore;
  readonly clock: { nowMs: number };
}

export const T0 = 1_790_000_000; // epoch seconds

/** A response with a fresh id, created at T0, kept a day, with the fields every test needs. */
export function sampleResponse(over: Partial<StoredResponse> = {}): StoredResponse {
  const id = `resp_${randomUUID().replaceAll('-', '')}`;
  return {
    id,
    keyId: 'key_alice',
    route: 'gpt-4o-mini',
    createdAt: T0,
    expiresAt: T0 + 86_400,
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello, 世界 ✓' }] }],
    output: [
      {
        type: 'message',
        id: 'msg_1',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Hi!', annotations: [] }],
      },
    ],
    response: { id, object: 'response', created_at: T0, status: 'completed', output_text: 'Hi!' },
    ...over,
  };
}

export function responseStoreContract(name: string, current: () => StoreUnderTest): void {
  describe(`${name} (ResponseStore contract)`, () => {
    it('gives back what was put, field for field', async () => {
      const { store } = current();
      const r = sampleResponse({ previousResponseId: 'resp_prev', ancestors: ['resp_older', 'resp_prev'] });
      await store.put(r);
      expect(await store.get(r.id)).toEqual(r);
    });

    it("reads another key's response as missing when the read names a key", async () => {
      const { store } = current();
      const r = sampleResponse();
      await store.put(r);
      expect(await store.get(r.id, { keyId: 'key_bob' })).toBeUndefined();
      expect(await store.get(r.id, { keyId: 'key_alice' })).toEqual(r);
    });

    it('rejects a read whose signal has aborted (the request is over)', async () => {
      const { store } = current();
      const r = sampleResponse();
      await store.put(r);
      const gone = new AbortController();
      gone.abort(new Error('client went away'));
      await expect(store.get(r.id, { signal: gone.signal })).rejects.toThrow();
      expect(await store.get(r.id, { signal: new AbortController().signal })).toEqual(r);
    });

    it('answers undefined for an id it does not hold, and for one no store could hold', async () => {
      const { store } = current();
      expect(await store.get('resp_nothing_here')).toBeUndefined();
      expect(await store.get('')).toBeUndefined();
      expect(await store.get(`resp_${'x'.repeat(300)}`)).toBeUndefined();
      expect(await store.delete(`resp_${'x'.repeat(300)}`)).toBe(false);
    });

    it('refuses a second put of an id and keeps the first', async () => {
      const { store } = current();
      const r = sampleResponse();
      await store.put(r);
      const again = { ...r, keyId: 'key_mallory', output: [] };
      const err = await store.put(again).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ResponseStoreError);
      expect((err as ResponseStoreError).reason).toBe('id_taken');
      expect(await store.get(r.id)).toEqual(r);
    });

    it('refuses a record with an id, key id or route past 256 characters, and stores nothing', async () => {
      const { store } = current();
      const long = 'x'.repeat(257);
      const r = sampleResponse();
      await expect(store.put({ ...r, keyId: long })).rejects.toThrow(/keyId/);
      await expect(store.put({ ...r, route: long })).rejects.toThrow(/route/);
      await expect(store.put({ ...r, previousResponseId: long })).rejects.toThrow(/previousResponseId/);
      expect(await store.get(r.id)).toBeUndefined();
    });

    it('never returns a response from its expiry second on, and says a delete of it removed nothing live', async () => {
      const sut = current();
      const r = sampleResponse({ expiresAt: T0 + 60 });
      await sut.store.put(r);
      sut.clock.nowMs = (T0 + 59) * 1000;
      expect((await sut.store.get(r.id))?.id).toBe(r.id);
      sut.clock.nowMs = (T0 + 60) * 1000;
      expect(await sut.store.get(r.id)).toBeUndefined();
      expect(await sut.store.delete(r.id)).toBe(false);
      sut.clock.nowMs = T0 * 1000; // even back in time: the delete removed it
      expect(await sut.store.get(r.id)).toBeUndefined();
    });

    it('deletes: true for a live response, which is then gone; false the second time', async () => {
      const { store } = current();
      const r = sampleResponse();
      await store.put(r);
      expect(await store.delete(r.id)).toBe(true);
      expect(await store.get(r.id)).toBeUndefined();
      expect(await store.delete(r.id)).toBe(false);
    });

    it('keeps what was stored when a caller edits the record it put or got', async () => {
      const { store } = current();
      const r = sampleResponse();
      const mine = structuredClone(r);
      await store.put(mine);
      (mine.input as unknown[]).push({ type: 'message', role: 'user', content: 'sneaked in' });
      const got = await store.get(r.id);
      (got?.output as unknown[] | undefined)?.pop();
      expect(await store.get(r.id)).toEqual(r);
    });
  });
}
