/**
 * A request's money: its reservation travels in its ledger record (the ledger's fold settles it from there),
 * a limit store that fails lets the request through, and a usage report that cannot be true is settled at the
 * request's bounds.
 */
import { describe, expect, it } from 'vitest';
import { Background } from '../../../functions/core/background.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { RequestAccount } from '../../../functions/core/gateway/accounting.ts';
import type { Admission, AdmitDecision, LimitStore } from '../../../functions/core/keys/types.ts';
import type { Principal, RequestSummary } from '../../../functions/core/ports.ts';
import type { UsageRecord } from '../../../functions/core/usage/types.ts';

const config = parseConfig({
  providers: { a: { type: 'mock' } },
  routes: { r: { targets: [{ provider: 'a', model: 'm' }], reserveOutputTokens: 1000 } },
  prices: { 'a/m': { input: 1, output: 2 } },
});
const route = config.routes.r!;
const principal: Principal = { keyId: 'key_budget', budget: { usd: 10, period: 'month' } };
const T0 = Date.UTC(2026, 10, 24, 10);

/** Admits every request (or fails every call while `failures` lasts) and keeps what it was asked. */
class RecordingLimits implements LimitStore {
  readonly admissions: Admission[] = [];
  constructor(public failures = 0) {}
  async admit(a: Admission): Promise<AdmitDecision> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('ProvisionedThroughputExceededException');
    }
    this.admissions.push(a);
    const b = a.budget;
    return b === undefined
      ? { ok: true }
      : {
          ok: true,
          reservation: {
            shard: 0,
            window: b.window,
            bucket: Math.floor(b.expiresAtEpochMs / 60_000),
            usd: b.amountUsd,
          },
        };
  }
  async spent() {
    return { spentUsd: 0, committedUsd: 0 };
  }
}

function deps(limits: LimitStore) {
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const records: UsageRecord[] = [];
  const background = new Background();
  return {
    limits,
    background,
    usage: { record: (r: UsageRecord) => records.push(r) },
    logger: {
      log: (level: string, message: string, fields: Record<string, unknown>) =>
        logs.push({ level, message, fields }),
    },
    logs,
    records,
  };
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

/** One request with a budget: admitted (reserved), answered with usage, finished (recorded). */
async function request(d: ReturnType<typeof deps>, id: string, p: Principal = principal) {
  const account = new RequestAccount(d, p, `rec-${id}`, T0);
  await account.rate();
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
  return account.finish(summary(id), 'r');
}

describe('RequestAccount admission and settlement', () => {
  it('takes the rate token and the reservation in one admission, and the record carries the reservation', async () => {
    const limits = new RecordingLimits();
    const d = deps(limits);
    const record = await request(d, 'a', { ...principal, rpm: 60, limitShards: 4 });
    expect(limits.admissions).toHaveLength(1);
    expect(limits.admissions[0]).toMatchObject({
      keyId: 'key_budget',
      shards: 4,
      requestKey: 'rec-a',
      rpm: 60,
      budget: { window: '2026-11', limitUsd: 10 },
    });
    const reserved = limits.admissions[0]?.budget?.amountUsd ?? 0;
    // The ledger settles it: the record holds the reservation beside its cost; the request made no more calls.
    expect(record.reservation).toEqual({
      shard: 0,
      window: '2026-11',
      bucket: Math.floor((T0 + route.timeouts.totalMs + 60_000) / 60_000),
      usd: reserved,
    });
    expect(record.costUsd).toBe(0.002);
    expect(d.records).toEqual([record]);
  });

  it('takes the rate token of a key without a budget before anything else, and records no reservation', async () => {
    const limits = new RecordingLimits();
    const d = deps(limits);
    const record = await request(d, 'b', { keyId: 'key_rpm', rpm: 5 });
    expect(limits.admissions).toEqual([
      { keyId: 'key_rpm', shards: 1, requestKey: 'rec-b', nowEpochMs: T0, rpm: 5 },
    ]);
    expect(record).not.toHaveProperty('reservation');
  });

  it('lets the request through when the limit store fails, logged (limits fail open)', async () => {
    const d = deps(new RecordingLimits(1));
    const record = await request(d, 'c');
    expect(record.status).toBe(200);
    expect(record).not.toHaveProperty('reservation');
    expect(d.logs.find((l) => l.message.includes('not enforced'))?.fields).toMatchObject({
      keyId: 'key_budget',
    });
  });
});

describe('RequestAccount usage check', () => {
  const body = { model: 'r', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 };

  async function answered(
    usage: { inputTokens: number; outputTokens: number },
    source: 'provider' | 'estimated',
  ) {
    const limits = new RecordingLimits();
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
    const { record, fields, d } = await answered({ inputTokens: 12, outputTokens: 1e15 }, 'provider');
    // (12 input × $1 + 10 output × $2) per 1M: the most the request could cost at this target's price.
    expect(record).toMatchObject({ inputTokens: 12, outputTokens: 1e15, costUsd: 0.000032 });
    expect(record.implausible).toBe('output 1000000000000000 tokens > 10 allowed (cap 10 × 1)');
    // The ledger settles the reservation at the record's cost: the cap's, not the report's.
    expect(record.reservation?.usd).toBeGreaterThanOrEqual(0.000032);
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
    const limits = new RecordingLimits();
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
    expect(record).toMatchObject({ costUsd: 0.01001, reservation: { usd: expect.any(Number) } });
    expect(record.reservation?.usd).toBeLessThan(0.01001);
    expect(d.logs.find((l) => l.message === 'cost above its budget reservation')?.fields).toMatchObject({
      requestId: 'y',
      keyId: 'key_budget',
      costUsd: 0.01001,
    });
  });
});
