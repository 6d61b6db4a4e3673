import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../../functions/core/providers/anthropic/adapter.ts';
import { kindOfStatus } from '../../../../functions/core/routing/failure.ts';

const body = (type: string, message: string, more: Record<string, unknown> = {}): string =>
  JSON.stringify({
    type: 'error',
    error: { type, message, ...more },
    request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
  });

/** The failure kind the attempt loop derives: the adapter's kind, else the status's. */
function kindOf(status: number, text: string) {
  const info = anthropicAdapter.parseError(status, text);
  return info.kind ?? kindOfStatus(status, info.code, info.type);
}

describe('anthropicAdapter.parseError', () => {
  it('reads the message, and the error type as both code and type', () => {
    expect(anthropicAdapter.parseError(529, body('overloaded_error', 'Overloaded'))).toEqual({
      message: 'Overloaded',
      code: 'overloaded_error',
      type: 'overloaded_error',
    });
  });

  it.each([
    [400, 'invalid_request_error', 'max_tokens: Field required', 'bad_request'],
    [401, 'authentication_error', 'invalid x-api-key', 'auth'],
    [402, 'billing_error', 'Billing error', 'balance'],
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.', 'auth'],
    [404, 'not_found_error', 'model: claude-nope', 'target_refused'],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', 'bad_request'],
    [
      429,
      'rate_limit_error',
      'This request would exceed the rate limit for your organization',
      'rate_limited',
    ],
    [500, 'api_error', 'Internal server error', 'server'],
    [504, 'timeout_error', 'Request timeout', 'server'],
    [529, 'overloaded_error', 'Overloaded', 'server'],
  ])('classifies %i %s as %s', (status, type, message, kind) => {
    expect(kindOf(status, body(type, message))).toBe(kind);
  });

  it('classifies the 400s that mean the account has no money as balance', () => {
    const credit =
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.';
    expect(anthropicAdapter.parseError(400, body('invalid_request_error', credit))).toMatchObject({
      message: credit,
      code: 'invalid_request_error',
      kind: 'balance',
    });
    const spend =
      'You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC.';
    expect(kindOf(400, body('invalid_request_error', spend))).toBe('balance');
  });

  it('classifies a 429 for a reached monthly spend limit as balance, not as a rate limit to wait out', () => {
    const text = body('rate_limit_error', 'Spend limit reached', {
      details: { error_code: 'enforced_spend_limit_reached' },
    });
    expect(kindOf(429, text)).toBe('balance');
  });

  it('keeps a body that is not JSON as the message, marked raw (Cloudflare answers 413 before the API)', () => {
    expect(anthropicAdapter.parseError(413, '<html>413 Request Entity Too Large</html>\n')).toEqual({
      message: '<html>413 Request Entity Too Large</html>',
      raw: true,
    });
    expect(anthropicAdapter.parseError(502, '')).toEqual({ message: 'HTTP 502', raw: true });
    expect(anthropicAdapter.parseError(500, '{"unexpected":true}')).toEqual({ message: 'HTTP 500' });
  });
});
