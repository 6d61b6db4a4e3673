/**
 * A request's money: its budget reservation is settled even when the limit store fails for a while, and at
 * the request's bounds when the upstream reports usage that cannot be true.
 */
import { describe, expect, it } from 'vitest';
import { Background } from '../../../functions/core/background.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { accountDeps, RequestAccount } from '../../../functions/core/gateway/accounting.ts';
import type { BudgetHold, LimitStore } from '../../../functions/core/keys/types.ts';
import type { Principal, RequestSummary } from '../../../functions/core/ports.ts';

const config = parseConfig({
  providers: { a: { type: 'mock' } },
  routes: { r: { targets: [{ provider: 'a', model: 'm' }], reserveOutputTokens: 1000 } },
  prices: { 'a/m': { input: 1, output: 2 } },
});
const route = config.routes.r!;
const principal: Principal = { keyId: 'key_budget', budget: { usd: 10, period: 'month' } };
const T0 = Date.UTC(2026, 10, 24, 10);

/** Holds every reservation; its settlements fail while `failures` lasts. */
class FailingLimits implements LimitStore {
  readonly settled: { holdId: string; actualUsd: number }[] = [];
  constructor(public failures: number) {}
  async takeRate() {
    return { ok: true } as const;
  }
  async reserve() {
    return true;
  }
  async settle(hold: BudgetHold, actualUsd: number) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('ProvisionedThroughputExceededException');
    }
    this.settled.push({ holdId: hold.holdId, actualUsd });
  }
  async spent() {
    return { spentUsd: 0, committedUsd: 0 };
  }
}

function deps(limits: LimitStore) {
  const sleeps: number[] = [];
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const background = new Background();
  const ports = accountDeps({
    limits,
    background,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    logger: {
      log: (level: string, message: string, fields: Record<string, unknown>) =>
        logs.push({ level, message, fields }),
    },
  });
  return { ...ports, background, sleeps, logs };
}

const summary = (requestId: string): RequestSummary => ({
  requestId,
  method: 'POST',
  path: '/v1/chat/completions',
  status: 200,
  stream: false,
  latencyMs: 5,
  attempts: 1,
  retries: 0,
  fallbacks: 0,
  attemptLog: [],
});

/** One request with a budget: admitted (reserved), answered with usage, finished (settled). */
async function request(d: ReturnType<typeof deps>, id: string) {
  const account = new RequestAccount(d, principal, `rec-${id}`, T0);
  // A prompt of 1,000 bytes: 1,000 reported input tokens are within its bound.
  await account.admit(config, route, {
    op: 'chat',
    body: {
      model: 'r',
      messages: [{ role: 'user', content: 'x'.repeat(1000) }],
    },
  });
  account.target(config, 'a', 'm');
  account.use({ inputTokens: 1000, outputTokens: 500 }, 'provider');
  account.finish(summary(id), 'r');
  return account;
}

describe('RequestAccount settlement', () => {
  it('retries a settlement the limit store refused, with backoff, off the request path', async () => {
    const limits = new FailingLimits(2);
    const d = deps(limits);
    await request(d, 'a');
    expect(limits.settled).toEqual([]);
    await d.background.idle();
    expect(limits.settled).toEqual([{ holdId: 'rec-a', actualUsd: 0.002 }]);
    expect(d.sleeps).toEqual([100, 200]);
  });

  it('keeps a settlement the store refuses every time, and makes it with the next one that succeeds', async () => {
    const limits = new FailingLimits(4);
    const d = deps(limits);
    await request(d, 'b');
    await d.background.idle();
    expect(limits.settled).toEqual([]);
    expect(d.logs.find((l) => l.message.startsWith('budget settlement failed'))?.fields).toMatchObject({
      requestId: 'b',
      keyId: 'key_budget',
      window: '2026-11',
      holdId: 'rec-b',
      actualUsd: 0.002,
    });
    await request(d, 'c');
    await d.background.idle();
    expect(limits.settled.map((s) => s.holdId).sort()).toEqual(['rec-b', 'rec-c']);
  });
});

describe('RequestAccount usage check', () => {
  const body = { model: 'r', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 };

  async function answered(
    usage: { inputTokens: number; outputTokens: number },
    source: 'provider' | 'estimated',
  ) {
    const limits = new FailingLimits(0);
    const d = deps(limits);
    const account = new RequestAccount(d, principal, 'rec-x', T0);
    await account.admit(config, route, { op: 'chat', body });
    account.target(config, 'a', 'm');
    account.use(usage, source);
    const fields = account.metricsFields();
    const record = account.finish(summary('x'), 'r');
    await d.background.idle();
    return { record, fields, limits, d };
  }

  it('records 10^15 output tokens as reported, flagged, and settles the budget at the cap', async () => {
    const { record, fields, limits, d } = await answered({ inputTokens: 12, outputTokens: 1e15 }, 'provider');
    // (12 input × $1 + 10 output × $2) per 1M: the most the request could cost at this target's price.
    expect(record).toMatchObject({ inputTokens: 12, outputTokens: 1e15, costUsd: 0.000032 });
    expect(record.implausible).toBe('output 1000000000000000 tokens > 10 allowed (cap 10 × 1)');
    expect(limits.settled).toEqual([{ holdId: 'rec-x', actualUsd: 0.000032 }]);
    expect(fields).toMatchObject({ outputTokens: 1e15, costUsd: 0.000032, implausibleUsage: true });
    const line = d.logs.find((l) => l.message === 'implausible usage');
    expect(line?.level).toBe('error');
    expect(line?.fields).toMatchObject({ requestId: 'x', keyId: 'key_budget', chargedUsd: 0.000032 });
    expect(line?.fields.reportedUsd).toBeCloseTo(2e9, 0);
  });

  it("does not check the gateway's own estimates", async () => {
    const { record, fields } = await answered({ inputTokens: 12, outputTokens: 50 }, 'estimated');
    expect(record).not.toHaveProperty('implausible');
    expect(fields).not.toHaveProperty('implausibleUsage');
  });

  it('warns when a plausible cost passes its reservation (no cap went upstream), and settles the real cost', async () => {
    const limits = new FailingLimits(0);
    const d = deps(limits);
    const account = new RequestAccount(d, principal, 'rec-y', T0);
    // No max_tokens: the reservation assumes the route's reserveOutputTokens (1,000).
    await account.admit(config, route, {
      op: 'chat',
      body: { model: 'r', messages: [{ role: 'user', content: 'hi' }] },
    });
    account.target(config, 'a', 'm');
    account.use({ inputTokens: 10, outputTokens: 5000 }, 'provider');
    const record = account.finish(summary('y'), 'r');
    await d.background.idle();
    expect(record).not.toHaveProperty('implausible');
    expect(limits.settled).toEqual([{ holdId: 'rec-y', actualUsd: 0.01001 }]);
    expect(d.logs.find((l) => l.message === 'cost above its budget reservation')?.fields).toMatchObject({
      requestId: 'y',
      keyId: 'key_budget',
      costUsd: 0.01001,
    });
  });
});
