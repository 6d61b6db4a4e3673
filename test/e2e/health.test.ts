/**
 * Shared target health end to end: the official SDK against the local gateway (its embedded DynamoDB store)
 * and loopback fakes that hang, fail, recover and rate-limit. Every test uses its own model names, so its
 * targets (`provider/model`) start healthy whatever the tests before it did to the board.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoHealthStore } from '../../functions/aws/stores/dynamo-health-store.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import type { InMemoryMetrics } from '../../functions/local/observability.ts';
import { type RunningGateway, startGateway } from '../../functions/local/server.ts';
import {
  type ConfigInput,
  type Harness,
  MASTER_KEY,
  openaiProvider,
  route,
  startHarness,
  type TimedFake,
} from '../support/gateway-harness.ts';

const HANG = { firstByteDelayMs: 10_000 };
/** The defaults (the harness turns breakers off unless a route says `health`). */
const ON = {};
const FAST_HEALTH = { cooldownMs: 600 };
const FAST_RETRY_4 = { attempts: 4, initialBackoffMs: 10, maxBackoffMs: 20 };

function configOf(f: Readonly<Record<'a' | 'b', TimedFake>>): ConfigInput {
  const pair = (m: string, extra: Parameters<typeof route>[1] = {}) =>
    route(
      [
        { provider: 'a', model: `${m}-a` },
        { provider: 'b', model: `${m}-b` },
      ],
      { health: ON, ...extra },
    );
  return {
    providers: {
      a: openaiProvider(f.a.url),
      b: openaiProvider(f.b.url),
      // One provider behind two base URLs (a's server, then b's): each URL has its own breaker.
      ab: { ...openaiProvider(f.a.url), baseUrls: [f.a.url, f.b.url] },
    },
    prices: { 'a/cost-a': { input: 3, output: 15 }, 'b/cost-b': { input: 0.15, output: 0.6 } },
    routes: {
      hang: pair('hang'),
      recover: pair('recover', { health: FAST_HEALTH }),
      limited: pair('limited'),
      quota: pair('quota'),
      shared: pair('shared'),
      stream: pair('stream'),
      alone: route([{ provider: 'a', model: 'alone-a' }], { health: ON }),
      latency: pair('latency', { strategy: 'latency', health: { explorePercent: 0 } }),
      cost: pair('cost', { strategy: 'cost' }),
      off: pair('off', { health: { enabled: false } }),
      client: pair('client'),
      retried: pair('retried', { health: { failureThreshold: 2 }, retry: FAST_RETRY_4 }),
      once: pair('once'),
      urls: route([{ provider: 'ab', model: 'urls' }], { health: ON }),
      urls2: route([{ provider: 'ab', model: 'urls2' }], { health: ON }),
    },
  };
}

let h: Harness<'a' | 'b'>;

beforeAll(async () => {
  h = await startHarness({ fakes: { a: {}, b: {} }, config: configOf });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.reset();
});

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'ping' }];

async function chat(
  model: string,
  client: OpenAI = h.client,
  harness: Pick<Harness<'a'>, 'waitForSummary'> = h,
) {
  const t0 = performance.now();
  const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
  const ms = performance.now() - t0;
  const requestId = response.headers.get('x-request-id') ?? '';
  return { data, ms, summary: await harness.waitForSummary(requestId) };
}

const toModel = (fake: TimedFake, model: string) =>
  fake.requests.filter((r) => (r.body as { model?: string }).model === model).length;
const healthLines = (message: string) => h.logs.filter((l) => l.message === message);

describe('circuit breaker', () => {
  it('a hanging target: the first five wait out the first-byte timeout, then it is skipped at once', async () => {
    h.fakes.a.setDefault(HANG);
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await chat('hang'));
    for (const r of results) expect(r.data.model).toBe('hang-b');
    expect(toModel(h.fakes.a, 'hang-a')).toBe(5);
    // The first five waited (FAST_TIMEOUTS.firstByteMs = 300), the rest did not.
    for (const r of results.slice(0, 5)) expect(r.ms).toBeGreaterThanOrEqual(290);
    for (const r of results.slice(5)) {
      expect(r.ms).toBeLessThan(250);
      // The open target moved behind the healthy one: b answers first, a is never called.
      expect(r.summary.attemptLog.map((a) => `${a.provider}:${a.outcome}`)).toEqual(['b:ok']);
      expect(r.summary.attempts).toBe(1);
      expect(r.summary.fields.lastTarget).toBe(true);
    }
    const skipped = healthLines('target skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.fields.health).toMatchObject({ target: 'a/hang-a', state: 'open', reason: 'breaker' });
    expect((h.gateway.metrics as InMemoryMetrics).totals.breakerOpened).toBeGreaterThanOrEqual(1);
  });

  it('after the cool-down one request probes the target; its success closes the breaker', async () => {
    h.fakes.a.setDefault({ status: 500, errorMessage: 'boom' });
    for (let i = 0; i < 6; i++) await chat('recover');
    expect(toModel(h.fakes.a, 'recover-a')).toBe(5);
    h.fakes.a.setDefault({});
    await new Promise((r) => setTimeout(r, 650));
    const probe = await chat('recover');
    expect(probe.data.model).toBe('recover-a');
    expect(healthLines('target healthy again')[0]?.fields.health).toMatchObject({
      target: 'a/recover-a',
      state: 'closed',
    });
    const after = await chat('recover');
    expect(after.data.model).toBe('recover-a');
    expect(after.summary.attemptLog.map((a) => a.outcome)).toEqual(['ok']);
  });

  it('a failed probe opens the breaker again for another cool-down', async () => {
    h.fakes.a.setDefault({ status: 502, errorMessage: 'bad gateway' });
    for (let i = 0; i < 5; i++) await chat('recover');
    await new Promise((r) => setTimeout(r, 650));
    await chat('recover'); // the probe: fails, b answers
    const before = toModel(h.fakes.a, 'recover-a');
    const next = await chat('recover');
    expect(toModel(h.fakes.a, 'recover-a')).toBe(before);
    expect(next.summary.attemptLog.map((a) => a.provider)).toEqual(['b']);
    expect(healthLines('target skipped').at(-1)?.fields.health).toMatchObject({
      cause: expect.stringContaining('probe failed'),
    });
  });

  it('a 429 with Retry-After cools the target down for that long, for every request', async () => {
    h.fakes.a.enqueue({ status: 429, errorMessage: 'slow down', retryAfter: '1' });
    const first = await chat('limited');
    expect(first.data.model).toBe('limited-b');
    const during = await chat('limited');
    expect(during.summary.attemptLog.map((a) => a.provider)).toEqual(['b']);
    expect(toModel(h.fakes.a, 'limited-a')).toBe(1);
    await new Promise((r) => setTimeout(r, 1050));
    const after = await chat('limited');
    expect(after.data.model).toBe('limited-a');
  });

  it('insufficient_quota cools the target down for quotaCooldownMs (10 minutes by default)', async () => {
    h.fakes.a.enqueue({
      status: 429,
      errorCode: 'insufficient_quota',
      errorType: 'insufficient_quota',
      errorMessage: 'no credit',
    });
    await chat('quota');
    for (let i = 0; i < 3; i++) expect((await chat('quota')).data.model).toBe('quota-b');
    expect(toModel(h.fakes.a, 'quota-a')).toBe(1);
    const line = healthLines('target skipped').find(
      (l) => (l.fields.health as { target: string }).target === 'a/quota-a',
    );
    expect(line).toBeDefined();
    const until = Date.parse((line?.fields.health as { until?: string } | undefined)?.until ?? '');
    expect(until - Date.now()).toBeGreaterThan(590_000);
  });

  it('every target open: answered at once with 502 upstream_unavailable and a Retry-After, no upstream call', async () => {
    h.fakes.a.setDefault({ status: 503, errorMessage: 'down' });
    for (let i = 0; i < 5; i++) await expect(chat('alone')).rejects.toMatchObject({ status: 502 });
    const t0 = performance.now();
    const err = await h.client.chat.completions.create({ model: 'alone', messages }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(502);
    expect(e.code).toBe('upstream_unavailable');
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(toModel(h.fakes.a, 'alone-a')).toBe(5);
  });

  it('a breaker turned off never skips its target', async () => {
    h.fakes.a.setDefault({ status: 500, errorMessage: 'boom' });
    for (let i = 0; i < 8; i++) await chat('off');
    expect(toModel(h.fakes.a, 'off-a')).toBe(8);
  });

  it('a request stops retrying a target whose breaker opened during it, and goes to the next at once', async () => {
    h.fakes.a.setDefault({ status: 503, errorMessage: 'down' });
    const r = await chat('retried');
    expect(r.data.model).toBe('retried-b');
    // Two failures open it (failureThreshold 2): the other three retries the route allows are not spent on it.
    expect(r.summary.attemptLog.map((a) => `${a.provider}:${a.outcome}`)).toEqual([
      'a:server',
      'a:server',
      'b:ok',
    ]);
    expect(toModel(h.fakes.a, 'retried-a')).toBe(2);
    expect(r.summary.fields.lastTarget).toBe(true);
  });

  it('served by the last target only counts when every other one is down: one failure is not an outage', async () => {
    h.fakes.a.enqueue({ status: 500, errorMessage: 'blip' });
    const r = await chat('once');
    expect(r.data.model).toBe('once-b');
    expect(r.summary.attemptLog.map((a) => a.outcome)).toEqual(['server', 'ok']);
    expect(r.summary.fields.lastTarget ?? false).toBe(false);
  });

  it('a provider with two base URLs: a hanging URL opens its own breaker, the other URL serves the target', async () => {
    h.fakes.a.setDefault(HANG);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        await chat('urls').then(
          () => 200,
          (e: { status?: number }) => e.status ?? 0,
        ),
      );
    // The first five waited out the first byte on the first URL (a timeout is not retried on another URL).
    expect(statuses).toEqual([504, 504, 504, 504, 504]);
    const after = [];
    for (let i = 0; i < 5; i++) after.push(await chat('urls'));
    for (const r of after) {
      expect(r.data.model).toBe('urls');
      expect(r.ms).toBeLessThan(250);
      expect(r.summary.attemptLog).toMatchObject([
        { provider: 'ab', outcome: 'ok', host: new URL(h.fakes.b.url).host },
      ]);
    }
    expect(toModel(h.fakes.a, 'urls')).toBe(5);
    expect(toModel(h.fakes.b, 'urls')).toBe(5);
    const opened = healthLines('target skipped').map((l) => (l.fields.health as { target: string }).target);
    expect(opened).toEqual([`ab/urls@${h.fakes.a.url}`]);
    // Speed and last use are the target's (what `latency` and the probes look up), the breakers the URLs'.
    expect(h.gateway.health.view('ab/urls')).toMatchObject({ status: 'healthy', seenAt: expect.any(Number) });
    expect(h.gateway.health.view('ab/urls').latencyMs).toBeGreaterThan(0);
  });

  it('a target-level breaker left in the store (before its provider got a second URL) never holds it back', async () => {
    const store = new DynamoHealthStore(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
    const now = Date.now();
    await store.transition('ab/urls2', { openUntil: now + 600_000, reason: 'breaker', at: now });
    // The gateway re-reads a view at most once a second (its probe timer may have just read this one).
    for (let i = 0; i < 30 && h.gateway.health.view('ab/urls2').status !== 'open'; i++) {
      await h.gateway.health.ready(['ab/urls2'], 1_000, true);
      if (h.gateway.health.view('ab/urls2').status !== 'open') await new Promise((r) => setTimeout(r, 100));
    }
    expect(h.gateway.health.view('ab/urls2').status).toBe('open');
    const r = await chat('urls2');
    expect(r.data.model).toBe('urls2');
    expect(r.summary.attemptLog.map((x) => x.outcome)).toEqual(['ok']);
  });

  it("the client's own errors never open a breaker", async () => {
    h.fakes.a.setDefault({ status: 400, errorCode: 'context_length_exceeded', errorMessage: 'too long' });
    for (let i = 0; i < 7; i++) await expect(chat('client')).rejects.toMatchObject({ status: 400 });
    expect(toModel(h.fakes.a, 'client-a')).toBe(7);
  });
});

describe('routing by health', () => {
  it('latency: the faster target takes the traffic once both are measured', async () => {
    h.fakes.a.setDefault({ firstByteDelayMs: 120 });
    const served = [];
    for (let i = 0; i < 10; i++) served.push((await chat('latency')).data.model);
    // a first (neither measured), then b (not measured yet), then the faster one: b.
    expect(served.slice(0, 2)).toEqual(['latency-a', 'latency-b']);
    expect(served.slice(2)).toEqual(Array(8).fill('latency-b'));
  });

  it('cost: the cheaper priced target first, the other as its fallback', async () => {
    expect((await chat('cost')).data.model).toBe('cost-b');
    h.fakes.b.enqueue({ status: 500, errorMessage: 'boom' });
    expect((await chat('cost')).data.model).toBe('cost-a');
  });
});

describe('two gateway instances on one store', () => {
  let second: RunningGateway;
  const secondLogs: { message: string; fields: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    const client = connectStore(h.gateway.storeSocket);
    const table = localTableName(KEYS_TABLE);
    second = await startGateway({
      config: parseConfig(configOf(h.fakes), 'second'),
      masterKey: MASTER_KEY,
      port: 0,
      logger: { log: (_l, message, fields) => secondLogs.push({ message, fields: structuredClone(fields) }) },
      healthStore: () => new DynamoHealthStore(client, table),
      healthRefreshMs: 100,
    });
  });
  afterAll(async () => {
    await second?.close(500);
  });

  it('a breaker opened by one instance is honoured by the other within its refresh', async () => {
    h.fakes.a.setDefault({ status: 500, errorMessage: 'boom' });
    for (let i = 0; i < 5; i++) await chat('shared');
    await h.gateway.background.idle();
    const client2 = new OpenAI({ baseURL: `${second.origin}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    const wait = async (requestId: string) => {
      for (let i = 0; i < 200; i++) {
        const line = secondLogs.find((l) => l.fields.requestId === requestId && 'attempts' in l.fields);
        if (line !== undefined) return line.fields;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('no summary');
    };
    // The second instance has not read the target yet: its first plan starts the read.
    const before = toModel(h.fakes.a, 'shared-a');
    await client2.chat.completions.create({ model: 'shared', messages });
    await new Promise((r) => setTimeout(r, 300));
    const { response } = await client2.chat.completions.create({ model: 'shared', messages }).withResponse();
    const fields = await wait(response.headers.get('x-request-id') ?? '');
    expect((fields.attemptLog as { provider: string }[]).map((a) => a.provider)).toEqual(['b']);
    expect(toModel(h.fakes.a, 'shared-a')).toBeLessThanOrEqual(before + 1);
    expect(second.health.view('a/shared-a').status).toBe('open');
  });
});
