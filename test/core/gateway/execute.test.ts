/**
 * The attempt loop with fake time: `sleep` records the backoff it is asked for and returns at once, so the
 * retry schedule is checked exactly. Upstream failures come from the real mock provider (in-process).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { chatSpec } from '../../../functions/core/endpoints/chat/spec.ts';
import { ExecStats, execute, ProviderState } from '../../../functions/core/gateway/execute.ts';
import type { Clock, Sleep } from '../../../functions/core/ports.ts';
import type { HttpClient } from '../../../functions/core/providers/types.ts';
import { TimeoutReason } from '../../../functions/core/upstream/reasons.ts';

const noHttp: HttpClient = {
  send: () => Promise.reject(new Error('the mock provider must not use HTTP')),
};

function harness(
  retry: Record<string, number>,
  targets = [{ provider: 'm1', model: 'a' }],
  sleepOverride?: Sleep,
) {
  const config = parseConfig({
    providers: { m1: { type: 'mock' }, m2: { type: 'mock' } },
    routes: { r: { targets, retry, timeouts: { firstByteMs: 1000, idleMs: 1000, totalMs: 5000 } } },
  });
  const slept: number[] = [];
  let t = 0;
  const clock: Clock = { now: () => t, epochMs: () => 1_700_000_000_000 + t };
  const sleep: Sleep = async (ms) => {
    slept.push(ms);
    t += ms;
  };
  const deps = {
    http: noHttp,
    providerKeys: { keys: async () => [] },
    clock,
    sleep: sleepOverride ?? sleep,
    random: () => 0,
  };
  const run = (content: string, signal = new AbortController().signal) => {
    const stats = new ExecStats();
    const body = { model: 'r', messages: [{ role: 'user', content }] };
    const input = {
      config,
      route: config.routes.r!,
      spec: chatSpec,
      req: { text: JSON.stringify(body), json: body, headers: {}, state: undefined },
      requestId: 'req-1',
      stream: false,
      signal,
    };
    return { stats, done: execute(deps, new ProviderState(), input, stats) };
  };
  return { run, slept };
}

describe('execute (retry policy with fake time)', () => {
  it('retries a 500 with exponential backoff, then answers 502 upstream_server_error', async () => {
    const h = harness({ attempts: 3, initialBackoffMs: 100, maxBackoffMs: 250 });
    const { stats, done } = h.run('/fail 500');
    await expect(done).rejects.toMatchObject({ status: 502, code: 'upstream_server_error' });
    expect(h.slept).toEqual([100, 200, 250]);
    expect([stats.attempts, stats.retries, stats.fallbacks]).toEqual([4, 3, 0]);
    expect(stats.log.map((a) => a.outcome)).toEqual(['server', 'server', 'server', 'server']);
  });

  it("waits what the upstream's retry-after-ms asks on a 429", async () => {
    const h = harness({ attempts: 2, initialBackoffMs: 1000, maxBackoffMs: 8000 });
    const { done } = h.run('/fail 429');
    await expect(done).rejects.toMatchObject({ status: 429, code: 'upstream_rate_limited' });
    expect(h.slept).toEqual([50, 50]); // the mock sends retry-after-ms: 50
  });

  it('does not retry an auth or balance failure on the same target but fails over', async () => {
    const h = harness({ attempts: 3, initialBackoffMs: 10, maxBackoffMs: 10 }, [
      { provider: 'm1', model: 'a' },
      { provider: 'm2', model: 'b' },
    ]);
    const { stats, done } = h.run('/fail 401');
    await expect(done).rejects.toMatchObject({ status: 502, code: 'upstream_auth' });
    expect(h.slept).toEqual([]);
    expect([stats.attempts, stats.fallbacks]).toEqual([2, 1]);
    const balance = h.run('/fail 429 insufficient_quota');
    await expect(balance.done).rejects.toMatchObject({ status: 502, code: 'upstream_insufficient_balance' });
  });

  it('never retries nor fails over a bad request', async () => {
    const h = harness({ attempts: 3, initialBackoffMs: 10, maxBackoffMs: 10 }, [
      { provider: 'm1', model: 'a' },
      { provider: 'm2', model: 'b' },
    ]);
    const { stats, done } = h.run('/fail 400 context_length_exceeded');
    await expect(done).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(stats.attempts).toBe(1);
  });

  it('answers once a target succeeds and reports the winning target', async () => {
    const h = harness({ attempts: 0, initialBackoffMs: 10, maxBackoffMs: 10 });
    const { stats, done } = h.run('hello');
    const r = await done;
    expect(r.target.provider).toBe('m1');
    expect(new TextDecoder().decode(r.opened.first)).toContain('echo: hello');
    expect(stats.attempts).toBe(1);
  });

  it('stops with 504 when the deadline passes during a backoff', async () => {
    const controller = new AbortController();
    const h = harness({ attempts: 3, initialBackoffMs: 100, maxBackoffMs: 100 }, undefined, async (ms) => {
      // The deadline fires while the first backoff waits.
      controller.abort(new TimeoutReason('total', 5000));
      throw new Error(`aborted during a ${ms} ms wait`);
    });
    const { stats, done } = h.run('/fail 503', controller.signal);
    await expect(done).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(stats.attempts).toBe(1);
  });
});
