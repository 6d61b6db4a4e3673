/** classifyError: every outcome a check can see, as a row of Switchyard's error table. */
import { describe, expect, it } from 'vitest';
import { classifyError, excerpt } from '../../../functions/local/validate/classify.ts';
import type { HttpOutcome } from '../../../functions/local/validate/client.ts';

function outcome(status: number | null, body: unknown, over: Partial<HttpOutcome> = {}): HttpOutcome {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    status,
    headers: {},
    text,
    json: typeof body === 'string' ? undefined : body,
    latencyMs: 12,
    timedOut: false,
    usage: undefined,
    ...over,
  };
}
const openai = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

describe('classifyError', () => {
  it('returns null for a 2xx answer', () => {
    expect(classifyError(outcome(200, { choices: [{ message: { content: 'hi' } }] }))).toBeNull();
    expect(classifyError(outcome(200, { error: null, choices: [] }))).toBeNull();
  });

  it('reads 401 as authentication_error / invalid_api_key, keeping what the relay said', () => {
    const row = classifyError(
      outcome(401, openai('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key')),
    );
    expect(row).toEqual({
      type: 'authentication_error',
      code: 'invalid_api_key',
      status: 401,
      openaiShaped: true,
      relay: {
        type: 'invalid_request_error',
        code: 'invalid_api_key',
        message: 'Incorrect API key provided.',
      },
    });
  });

  it('reads a 403 that says authentication_error as an auth error, a plain 403 as permission_error', () => {
    expect(classifyError(outcome(403, openai('bad token', 'authentication_error')))?.type).toBe(
      'authentication_error',
    );
    expect(classifyError(outcome(403, 'Forbidden'))).toMatchObject({
      type: 'permission_error',
      code: 'forbidden',
    });
  });

  it('reads 404 as model_not_found, and a 400 only when it names the model', () => {
    expect(classifyError(outcome(404, 'Not Found'))?.code).toBe('model_not_found');
    const wrongUrl = outcome(404, openai('Invalid URL (POST /v2/chat/completions)', 'invalid_request_error'));
    expect(classifyError(wrongUrl)?.code).toBe('unknown_url');
    expect(classifyError(outcome(404, '404 page not found'))?.code).toBe('unknown_url');
    const named = outcome(400, openai('unknown model: acme-9', 'invalid_request_error'));
    expect(classifyError(named)).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    const byName = outcome(400, { error: 'acme-9 is offline' });
    expect(classifyError(byName, { model: 'acme-9' })?.code).toBe('model_not_found');
    expect(classifyError(byName)?.code).toBe('invalid_request');
    const other = outcome(400, openai("'messages' is required", 'invalid_request_error', 'missing_field'));
    expect(classifyError(other)).toMatchObject({ type: 'invalid_request_error', code: 'missing_field' });
  });

  it('reads 429 as rate_limit_error with its Retry-After, and 429 insufficient_quota as no balance', () => {
    const limited = outcome(429, openai('slow down', 'requests', 'rate_limit_exceeded'), {
      headers: { 'retry-after': '2' },
    });
    expect(classifyError(limited)).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      retryAfterMs: 2000,
    });
    const ms = outcome(429, 'busy', { headers: { 'retry-after-ms': '250' } });
    expect(classifyError(ms)).toMatchObject({ retryAfterMs: 250, openaiShaped: false });
    expect(classifyError(outcome(429, 'busy'))).not.toHaveProperty('retryAfterMs');
    const quota = outcome(
      429,
      openai('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota'),
    );
    expect(classifyError(quota)).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(classifyError(outcome(402, 'Payment Required'))?.type).toBe('insufficient_quota');
  });

  it('reads 5xx as upstream_error, 504 and 408 as timeout_error', () => {
    for (const s of [500, 502, 503])
      expect(classifyError(outcome(s, 'oops'))?.code).toBe('upstream_server_error');
    for (const s of [504, 408]) expect(classifyError(outcome(s, 'late'))?.type).toBe('timeout_error');
  });

  it("reads one-api's 503 for an unknown model (no channel for it) as model_not_found", () => {
    const body = {
      error: { message: '当前分组 default 下对于模型 no-such-model-x 无可用渠道', type: 'one_api_error' },
    };
    expect(classifyError(outcome(503, body), { model: 'no-such-model-x' })?.code).toBe('model_not_found');
    expect(classifyError(outcome(503, body))?.code).toBe('upstream_server_error');
  });

  it("reads the client's own timeout as timeout_error even after a 200 began", () => {
    const cut = outcome(200, '', { timedOut: true, networkError: 'timed out' });
    expect(classifyError(cut)).toMatchObject({
      type: 'timeout_error',
      code: 'upstream_timeout',
      status: 200,
    });
  });

  it('reads no answer at all as upstream_unreachable, with the reason', () => {
    const refused = outcome(null, '', { networkError: 'cannot reach 127.0.0.1:9: ECONNREFUSED' });
    expect(classifyError(refused)).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unreachable',
      relay: { message: 'cannot reach 127.0.0.1:9: ECONNREFUSED' },
    });
  });

  it("reads a 200 carrying an error (new-api's habit, a stream's error event) by the error", () => {
    expect(classifyError(outcome(200, openai('invalid token', 'authentication_error')))?.type).toBe(
      'authentication_error',
    );
    const stream = { ...outcome(200, ''), streamError: { message: 'upstream died', type: 'server_error' } };
    expect(classifyError(stream)).toMatchObject({ type: 'upstream_error', status: 200, openaiShaped: true });
  });

  it('never quotes a key the relay echoes', () => {
    const echoed = outcome(
      401,
      openai('Incorrect API key provided: sk-live-abcdef123456', 'invalid_request_error'),
    );
    const row = classifyError(echoed);
    expect(row?.relay.message).toBe('Incorrect API key provided: sk-[redacted]');
    expect(excerpt('Bearer sk-abc123456789 and more')).toBe('Bearer [redacted] and more');
  });

  it('cuts long bodies short in excerpts', () => {
    expect(excerpt('x'.repeat(500))).toBe(`${'x'.repeat(200)}…`);
    expect(excerpt('  a\n\n b  ')).toBe('a b');
  });
});
