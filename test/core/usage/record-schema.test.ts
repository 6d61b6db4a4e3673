/** Spooled and exported records parse with one schema, old ones (before a field existed) included. */
import { describe, expect, it } from 'vitest';
import { usageRecordSchema } from '../../../functions/core/usage/record-schema.ts';

const old = {
  requestId: 'req-1',
  recordId: 'rec-1',
  time: '2026-11-24T10:00:00.000Z',
  keyId: 'key_a',
  route: 'r',
  provider: 'p',
  model: 'm',
  status: 200,
  errorCode: null,
  inputTokens: 12,
  outputTokens: 1e15,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  costUsd: 0.000044,
  priceVersion: 'v',
  latencyMs: 5,
  ttftMs: null,
  attempts: 1,
  stream: false,
  usageSource: 'provider',
  upstreamId: null,
};

describe('usageRecordSchema', () => {
  it('reads a record written before the implausible flag existed, without adding it', () => {
    const r = usageRecordSchema.parse(old);
    expect(r).toMatchObject(old);
    expect(Object.keys(r)).not.toContain('implausible');
  });

  it('reads a record written before the endpoint and cache-write fields as a chat request with no cache writes', () => {
    expect(usageRecordSchema.parse(old)).toEqual({ ...old, endpoint: 'chat', cacheWriteTokens: 0 });
  });

  it('keeps the endpoint and cache writes of a newer record, and refuses an unknown endpoint', () => {
    const now = { ...old, endpoint: 'messages', cacheWriteTokens: 2048 };
    expect(usageRecordSchema.parse(now)).toEqual(now);
    // A round trip through JSON (a spool line) gives the same record back.
    expect(usageRecordSchema.parse(JSON.parse(JSON.stringify(now)))).toEqual(now);
    expect(usageRecordSchema.safeParse({ ...old, endpoint: 'completions' }).success).toBe(false);
    expect(usageRecordSchema.safeParse({ ...old, cacheWriteTokens: -1 }).success).toBe(false);
  });

  it('reads a flagged record with its reason, and refuses an empty one', () => {
    const flagged = { ...old, implausible: 'output 1000000000000000 tokens > 10 allowed (cap 10 × 1)' };
    expect(usageRecordSchema.parse(flagged)).toMatchObject(flagged);
    expect(usageRecordSchema.safeParse({ ...old, implausible: '' }).success).toBe(false);
  });
});
