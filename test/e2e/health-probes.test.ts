/**
 * Active health probes (issue 16), locally: the official SDK for the client requests, loopback fakes for the
 * upstreams, the real local gateway on its embedded store. Probes run by `gateway.probe()` (what the timer
 * and the Lambda schedule call), and by the local timer itself in the last test.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoHealthStore } from '../../functions/aws/stores/dynamo-health-store.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { PROBE_KEY_ID } from '../../functions/core/gateway/probes.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { startGateway } from '../../functions/local/server.ts';
import {
  type ConfigInput,
  type Harness,
  MASTER_KEY,
  openaiProvider,
  route,
  startHarness,
  type TimedFake,
} from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

const PROBED = { probeEveryMs: 10_000 };

function configOf(f: Readonly<Record<'a' | 'b', TimedFake>>): ConfigInput {
  const pair = (m: string, health: Record<string, unknown>) =>
    route(
      [
        { provider: 'a', model: `${m}-a` },
        { provider: 'b', model: `${m}-b` },
      ],
      { health },
    );
  return {
    providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
    prices: { 'a/quiet-a': { input: 1, output: 2 } },
    routes: {
      quiet: pair('quiet', PROBED),
      // Another route over the same target: probed once, not once per route.
      'quiet-too': route([{ provider: 'a', model: 'quiet-a' }], { health: PROBED }),
      plain: pair('plain', {}),
      used: pair('used', PROBED),
      dark: pair('dark', { ...PROBED, failureThreshold: 1 }),
      night: route([{ provider: 'a', model: 'night-a' }], {
        health: { ...PROBED, failureThreshold: 1, cooldownMs: 600 },
      }),
    },
  };
}

let h: Harness<'a' | 'b'>;

beforeAll(async () => {
  // The timer is as good as off here: the tests call probe() themselves.
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: configOf,
    gateway: { healthProbeTickMs: 3_600_000 },
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => h.reset());

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'ping' }];
const toModel = (fake: TimedFake, model: string) =>
  fake.requests.filter((r) => (r.body as { model?: string }).model === model);
const probesOf = (results: { target: string }[], prefix: string) =>
  results
    .filter((r) => r.target.includes(prefix))
    .map((r) => r.target)
    .sort();

describe('active health probes', () => {
  it('probe each target of a route with probeEveryMs once: a one-token request, logged and in the ledger', async () => {
    const results = await h.gateway.probe();
    expect(probesOf(results, 'quiet')).toEqual(['a/quiet-a', 'b/quiet-b']);
    expect(probesOf(results, 'plain')).toEqual([]);
    for (const r of results) expect(r.status).toBe(200);
    const sent = toModel(h.fakes.a, 'quiet-a');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatchObject({ max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });
    const probe = results.find((r) => r.target === 'a/quiet-a');
    const summary = await h.waitForSummary(probe?.requestId ?? '');
    expect(summary).toMatchObject({ status: 200, provider: 'a', attempts: 1 });
    expect(summary.fields.keyId).toBe(PROBE_KEY_ID);
    const record = await recordOf(h.gateway, probe?.requestId ?? '');
    expect(record).toMatchObject({ keyId: PROBE_KEY_ID, provider: 'a', model: 'quiet-a', status: 200 });
    expect(record.costUsd).toBeGreaterThan(0);
    // Nothing is due again before probeEveryMs.
    expect(await h.gateway.probe()).toEqual([]);
  });

  it('after a quiet night: a half-open breaker is probed at once, and its success closes it', async () => {
    h.fakes.a.setDefault({ status: 503, errorMessage: 'down' });
    await expect(h.client.chat.completions.create({ model: 'night', messages })).rejects.toMatchObject({
      status: 502,
    });
    expect(h.gateway.health.view('a/night-a').status).toBe('open');
    // Open: nothing to probe yet.
    expect(probesOf(await h.gateway.probe(), 'night')).toEqual([]);
    h.fakes.a.setDefault({});
    await new Promise((r) => setTimeout(r, 650));
    expect(h.gateway.health.view('a/night-a').status).toBe('half-open');
    const results = await h.gateway.probe();
    expect(results.filter((r) => r.target === 'a/night-a')).toMatchObject([{ status: 200 }]);
    expect(h.gateway.health.view('a/night-a').status).toBe('healthy');
    const before = toModel(h.fakes.a, 'night-a').length;
    await h.client.chat.completions.create({ model: 'night', messages });
    expect(toModel(h.fakes.a, 'night-a')).toHaveLength(before + 1);
  });
});

describe('the local timer', () => {
  it('runs the due probes on its own, once per probeEveryMs', async () => {
    const own = await startHarness({
      fakes: { a: {}, b: {} },
      config: configOf,
      gateway: { healthProbeTickMs: 50 },
    });
    try {
      const until = Date.now() + 5_000;
      while (toModel(own.fakes.a, 'quiet-a').length === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      expect(toModel(own.fakes.a, 'quiet-a')).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 300));
      // Several ticks later: still one (probeEveryMs is 10 s).
      expect(toModel(own.fakes.a, 'quiet-a')).toHaveLength(1);
      expect(toModel(own.fakes.a, 'plain-a')).toHaveLength(0);
    } finally {
      await own.close();
    }
  });
});

describe('a probe that fails', () => {
  it('opens the breaker before a client request meets the outage: the request goes to the fallback at once', async () => {
    const own = await startHarness({
      fakes: { a: {}, b: {} },
      config: configOf,
      gateway: { healthProbeTickMs: 3_600_000 },
    });
    try {
      own.fakes.a.setDefault({ status: 503, errorMessage: 'down' });
      const results = await own.gateway.probe();
      expect(results.filter((r) => r.target === 'a/dark-a')).toMatchObject([{ status: 502 }]);
      expect(own.gateway.health.view('a/dark-a')).toMatchObject({ status: 'open', reason: 'breaker' });
      const before = toModel(own.fakes.a, 'dark-a').length;
      const { data, response } = await own.client.chat.completions
        .create({ model: 'dark', messages })
        .withResponse();
      expect(data.model).toBe('dark-b');
      expect(toModel(own.fakes.a, 'dark-a')).toHaveLength(before);
      const summary = await own.waitForSummary(response.headers.get('x-request-id') ?? '');
      expect(summary.attemptLog.map((x) => `${x.provider}:${x.outcome}`)).toEqual(['b:ok']);
    } finally {
      await own.close();
    }
  });
});

describe('probes on another instance (the Lambda schedule lands on any instance)', () => {
  it("choose by the fleet's view: a target another instance used lately, or opened, is not probed", async () => {
    const own = await startHarness({
      fakes: { a: {}, b: {} },
      config: configOf,
      gateway: { healthProbeTickMs: 3_600_000 },
    });
    const shared = new DynamoHealthStore(connectStore(own.gateway.storeSocket), localTableName(KEYS_TABLE));
    const other = await startGateway({
      config: parseConfig(configOf(own.fakes), 'other instance'),
      masterKey: MASTER_KEY,
      port: 0,
      logger: { log: () => undefined },
      healthStore: () => shared,
      healthProbeTickMs: 3_600_000,
    });
    try {
      // On the first instance: a request uses used-a; one failure opens dark-a (failureThreshold 1).
      await own.client.chat.completions.create({ model: 'used', messages });
      own.fakes.a.enqueue({ status: 503, errorMessage: 'down' });
      expect((await own.client.chat.completions.create({ model: 'dark', messages })).model).toBe('dark-b');
      await own.gateway.background.idle();
      const results = await other.probe();
      expect(probesOf(results, 'used')).toEqual(['b/used-b']);
      // dark-a: open fleet-wide (the other instance read it); dark-b: served the fallback just now.
      expect(probesOf(results, 'dark')).toEqual([]);
      expect(other.health.view('a/dark-a').status).toBe('open');
      expect(probesOf(results, 'quiet')).toEqual(['a/quiet-a', 'b/quiet-b']);
      expect(toModel(own.fakes.a, 'used-a')).toHaveLength(1);
      expect(toModel(own.fakes.a, 'dark-a')).toHaveLength(1);
    } finally {
      await other.close(500);
      await own.close();
    }
  });
});
