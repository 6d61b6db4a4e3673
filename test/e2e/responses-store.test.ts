/**
 * The stored-Responses write and the answer's end: a Response is stored before the client sees its end (so a
 * continuation right after finds it); a store that fails or hangs never costs the client its answer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  ReadOptions,
  ResponseStore,
  StoredResponse,
} from '../../functions/core/stores/response-store.ts';
import { putClientKey } from '../support/anthropic-sdk.ts';
import {
  clearOfMinuteEdge,
  type Harness,
  openaiProvider,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

/**
 * The real store behind a switch: as is, failing every put, holding each put for `delayMs`, or holding every
 * read until the reader's signal aborts it. Counts reads.
 */
class SwitchedStore implements ResponseStore {
  mode: 'ok' | 'fail' | 'slow' | 'hang-reads' = 'ok';
  delayMs = 0;
  reads = 0;
  /** The signals of reads held by 'hang-reads'. */
  readonly held: AbortSignal[] = [];
  /** When each put was done (performance.now()), by id. */
  readonly stored = new Map<string, number>();
  constructor(private readonly real: ResponseStore) {}
  async put(r: StoredResponse): Promise<void> {
    if (this.mode === 'fail') throw new Error('ProvisionedThroughputExceededException');
    if (this.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await this.real.put(r);
    this.stored.set(r.id, performance.now());
  }
  get(id: string, opts?: ReadOptions) {
    this.reads++;
    if (this.mode !== 'hang-reads') return this.real.get(id, opts);
    const signal = opts?.signal;
    if (signal === undefined) throw new Error('a read the request cannot abandon');
    this.held.push(signal);
    return new Promise<undefined>((_, reject) => {
      signal.addEventListener('abort', () => reject(new Error('AbortError: the read was abandoned')), {
        once: true,
      });
    });
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
      routes: {
        gpt: route([{ provider: 'up', model: 'gpt-4o' }]),
        'gpt-short': route([{ provider: 'up', model: 'gpt-4o' }], {
          timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 400 },
        }),
      },
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
  if (store !== undefined) {
    store.mode = 'ok';
    store.reads = 0;
  }
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

  it('reads no stored conversation for a key over its rpm: the 429 comes first', async () => {
    const client = h.clientWithKey(await putClientKey(h.gateway, { rpm: 1 }));
    await clearOfMinuteEdge();
    const first = await client.responses.create({ model: 'gpt', input: 'one' });
    const before = switched().reads;
    await expect(
      client.responses.create({ model: 'gpt', input: 'two', previous_response_id: first.id }),
    ).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(switched().reads).toBe(before);
  });

  it('ends a conversation read that hangs at the request deadline (504), the read abandoned', async () => {
    const first = await h.client.responses.create({ model: 'gpt-short', input: 'one' });
    switched().mode = 'hang-reads';
    const started = performance.now();
    await expect(
      h.client.responses.create({ model: 'gpt-short', input: 'two', previous_response_id: first.id }),
    ).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
    // The route's totalMs is 400: the request ended at its deadline, not at the client's or the store's.
    expect(performance.now() - started).toBeLessThan(3000);
    expect(switched().held.at(-1)?.aborted).toBe(true);
    expect(h.fakes.up.requests).toHaveLength(1);
  });

  it('stores a streamed Response whose client left, once the drain reads it to its end', async () => {
    h.fakes.up.enqueue({ chunkDelayMs: 30, chunkSize: 2 });
    const controller = new AbortController();
    const stream = await h.client.responses.create(
      { model: 'gpt', input: 'a long enough answer to take a while', stream: true },
      { signal: controller.signal },
    );
    let id = '';
    try {
      for await (const ev of stream) {
        if (ev.type === 'response.created') {
          id = ev.response.id;
          controller.abort();
        }
      }
    } catch {
      // The SDK throws on the abort.
    }
    expect(id).toMatch(/^resp_/);
    const until = performance.now() + 5000;
    while (!switched().stored.has(id) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(switched().stored.has(id)).toBe(true);
    const next = await h.client.responses.create({ model: 'gpt', input: 'next', previous_response_id: id });
    expect(next.output_text).toBe('echo: next');
  });
});
