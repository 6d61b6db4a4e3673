/**
 * The stored-Responses write and the answer's end: a Response is stored before the client sees its end (so a
 * continuation right after finds it); a store that fails or hangs never costs the client its answer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResponseStore, StoredResponse } from '../../functions/core/stores/response-store.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';

/** The real store behind a switch: as is, failing every put, or holding each put for `delayMs`. */
class SwitchedStore implements ResponseStore {
  mode: 'ok' | 'fail' | 'slow' = 'ok';
  delayMs = 0;
  /** When each put was done (performance.now()), by id. */
  readonly stored = new Map<string, number>();
  constructor(private readonly real: ResponseStore) {}
  async put(r: StoredResponse): Promise<void> {
    if (this.mode === 'fail') throw new Error('ProvisionedThroughputExceededException');
    if (this.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await this.real.put(r);
    this.stored.set(r.id, performance.now());
  }
  get(id: string) {
    return this.real.get(id);
  }
  delete(id: string) {
    return this.real.delete(id);
  }
}

let h: Harness<'up'>;
let store: SwitchedStore | undefined;

beforeAll(async () => {
  h = await startHarness({
    fakes: { up: {} },
    config: (f) => ({
      providers: { up: openaiProvider(f.up.url) },
      routes: { gpt: route([{ provider: 'up', model: 'gpt-4o' }]) },
    }),
    gateway: {
      responsesKeepWaitMs: 100,
      responseStore: (real) => {
        store = new SwitchedStore(real);
        return store;
      },
    },
  });
});
afterAll(async () => h.close());
beforeEach(() => {
  h.reset();
  if (store !== undefined) store.mode = 'ok';
});

const switched = (): SwitchedStore => {
  if (store === undefined) throw new Error('the gateway built no response store');
  return store;
};

describe('the Response store and the answer', () => {
  it('stores a streamed Response before the client reads response.completed', async () => {
    const stream = await h.client.responses.create({ model: 'gpt', input: 'keep me', stream: true });
    let id = '';
    let completedAt = 0;
    for await (const ev of stream) {
      if (ev.type === 'response.completed') {
        completedAt = performance.now();
        id = ev.response.id;
      }
    }
    const storedAt = switched().stored.get(id);
    expect(storedAt).toBeDefined();
    expect(storedAt).toBeLessThan(completedAt);
    // …so continuing it at once works.
    const next = await h.client.responses.create({ model: 'gpt', input: 'next', previous_response_id: id });
    expect(next.output_text).toBe('echo: next');
  });

  it('serves the answer when the store fails, says so, and the response cannot be continued', async () => {
    switched().mode = 'fail';
    const { data, response } = await h.client.responses
      .create({ model: 'gpt', input: 'lost' })
      .withResponse();
    expect(data.output_text).toBe('echo: lost');
    const line = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(line.status).toBe(200);
    expect(line.fields.warnings).toContain('response not stored: the response store failed');
    expect(h.logs.some((l) => l.message === 'response not stored')).toBe(true);
    switched().mode = 'ok';
    await expect(
      h.client.responses.create({ model: 'gpt', input: 'x', previous_response_id: data.id }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
  });

  it('does not hold the answer for a store that hangs; the write finishes in the background', async () => {
    switched().mode = 'slow';
    switched().delayMs = 1_000;
    const { data, response } = await h.client.responses
      .create({ model: 'gpt', input: 'slow store' })
      .withResponse();
    expect(data.output_text).toBe('echo: slow store');
    const line = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(line.fields.warnings).toContain('response stored late: the response store took over 100 ms');
    expect(switched().stored.has(data.id)).toBe(false);
    await h.gateway.background.idle();
    expect(switched().stored.has(data.id)).toBe(true);
  });
});
