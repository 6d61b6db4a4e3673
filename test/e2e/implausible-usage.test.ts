/**
 * Usage an upstream reports that cannot be true — more output than the cap it was sent, input far beyond
 * anything the request held — is recorded as reported but flagged, counted, logged as an error, and charged
 * at the request's bounds: an upstream that says 10^15 tokens does not bill $2,000,000,000 into a budget.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLimitStore } from '../../functions/aws/stores/dynamo-limit-store.ts';
import { budgetWindow, newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { InMemoryMetrics } from '../../functions/local/observability.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';
import { recordOf, today } from '../support/ledger-helpers.ts';

let h: Harness<'a'>;
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello' }];
// $2 per 1M tokens both ways: 10^15 output tokens would be $2,000,000,000.
const PRICE = { input: 2, output: 2 };
const HUGE = 1e15;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: { metered: route([{ provider: 'a', model: 'up' }]) },
      prices: { 'a/up': PRICE },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

async function keyWithBudget(usd: number) {
  const k = newClientKey({ name: 'implausible', budgetUsd: usd, period: 'month' });
  await new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE)).put(k.record);
  return k;
}

async function spentOf(keyId: string) {
  const store = new DynamoLimitStore(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
  return (await store.spent(keyId, budgetWindow('month', Date.now()), 1)).spentUsd;
}

function implausibleCount(): number {
  const m = h.gateway.metrics;
  if (!(m instanceof InMemoryMetrics)) throw new Error('the harness gateway keeps in-memory metrics');
  return m.totals.implausibleRequests;
}

describe('implausible upstream usage', () => {
  it("flags 10^15 completion tokens when no max_tokens was sent: charged at the route's maxOutputTokens", async () => {
    const k = await keyWithBudget(5);
    h.fakes.a.enqueue({ usage: { prompt_tokens: 12, completion_tokens: HUGE } });
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    // The openai SDK's plain call: no max_tokens at all.
    const { response } = await sdk.chat.completions.create({ model: 'metered', messages }).withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    // (12 + 131,072) × $2 / 1M: what the request could at most have cost.
    expect(response.headers.get('x-switchyard-cost-usd')).toBe('0.262168');
    const rec = await recordOf(h.gateway, requestId);
    expect(rec).toMatchObject({ outputTokens: HUGE, costUsd: 0.262168 });
    expect(rec.implausible).toMatch(
      /^output 1000000000000000 tokens > 131072 allowed \(the route's maxOutputTokens/,
    );
    expect(await spentOf(k.record.id)).toBeLessThan(0.27);
  });

  it('flags 10^15 completion tokens past max_tokens, and charges the budget the cap, not $2e9', async () => {
    const k = await keyWithBudget(5);
    const before = implausibleCount();
    h.fakes.a.enqueue({ usage: { prompt_tokens: 12, completion_tokens: HUGE } });
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    const { data, response } = await sdk.chat.completions
      .create({ model: 'metered', messages, max_tokens: 10 })
      .withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    // The client sees what the upstream reported; the cost is the request's bound: (12 + 10) × $2 / 1M.
    expect(data.usage?.completion_tokens).toBe(HUGE);
    expect(response.headers.get('x-switchyard-cost-usd')).toBe('0.000044');

    const rec = await recordOf(h.gateway, requestId);
    expect(rec).toMatchObject({ inputTokens: 12, outputTokens: HUGE, costUsd: 0.000044 });
    expect(rec.implausible).toMatch(/^output 1000000000000000 tokens > 10 allowed/);
    expect(await spentOf(k.record.id)).toBeCloseTo(0.000044, 10);
    expect(implausibleCount()).toBe(before + 1);

    const agg = (await h.gateway.ledger.aggregates(today(), today())).find((a) => a.keyId === k.record.id);
    expect(agg).toMatchObject({ outputTokens: HUGE, costUsd: 0.000044, implausibleRequests: 1 });

    const line = h.logs.find((l) => l.message === 'implausible usage');
    expect(line?.level).toBe('error');
    expect(line?.fields).toMatchObject({ requestId, keyId: k.record.id, outputTokens: HUGE });
    expect(JSON.stringify(line)).not.toContain(k.key);
  });

  it('flags a streamed answer the same way, and its usage chunk carries the bounded cost', async () => {
    const k = await keyWithBudget(5);
    h.fakes.a.enqueue({ usage: { prompt_tokens: 12, completion_tokens: HUGE } });
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    const { data, response } = await sdk.chat.completions
      .create({
        model: 'metered',
        messages,
        max_tokens: 10,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let cost: number | undefined;
    for await (const chunk of data) {
      if (chunk.usage) cost = (chunk.usage as unknown as { cost: number }).cost;
    }
    expect(cost).toBe(0.000044);
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec.outputTokens).toBe(HUGE);
    expect(rec.implausible).toMatch(/^output/);
    expect(await spentOf(k.record.id)).toBeCloseTo(0.000044, 10);
  });

  it('flags input far beyond what the request held, and charges the input bound', async () => {
    const k = await keyWithBudget(5);
    h.fakes.a.enqueue({ usage: { prompt_tokens: HUGE, completion_tokens: 3 } });
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    const { response } = await sdk.chat.completions.create({ model: 'metered', messages }).withResponse();
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec.inputTokens).toBe(HUGE);
    expect(rec.implausible).toMatch(
      /^input 1000000000000000 tokens > \d+ plausible \(4 × the request's bound of \d+ \+ 16384\)$/,
    );
    // A bound of a few dozen tokens (a token per byte of "hello", the model name, the markers), not 10^15.
    expect(rec.costUsd).toBeGreaterThan(0);
    expect(rec.costUsd).toBeLessThan(0.001);
    expect(await spentOf(k.record.id)).toBeCloseTo(rec.costUsd ?? Number.NaN, 10);
  });

  it('leaves plausible usage unflagged', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 12, completion_tokens: 10 } });
    const { response } = await h.client.chat.completions
      .create({ model: 'metered', messages, max_tokens: 10 })
      .withResponse();
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec.costUsd).toBe(0.000044);
    expect(rec).not.toHaveProperty('implausible');
  });
});
