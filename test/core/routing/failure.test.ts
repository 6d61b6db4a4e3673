import { describe, expect, it } from 'vitest';
import {
  type AttemptFailure,
  canFailOver,
  finalError,
  kindOfStatus,
  retryableOnSameTarget,
} from '../../../functions/core/routing/failure.ts';

describe('kindOfStatus', () => {
  it.each([
    [429, undefined, undefined, 'rate_limited'],
    [429, 'insufficient_quota', undefined, 'balance'],
    [429, undefined, 'insufficient_quota', 'balance'],
    [402, undefined, undefined, 'balance'],
    [401, 'invalid_api_key', undefined, 'auth'],
    [403, undefined, undefined, 'auth'],
    [408, undefined, undefined, 'server'],
    [409, undefined, undefined, 'server'],
    [500, undefined, undefined, 'server'],
    [529, undefined, undefined, 'server'],
    [400, 'context_length_exceeded', undefined, 'bad_request'],
    [404, 'model_not_found', undefined, 'target_refused'],
  ] as const)('maps %i (code %s, type %s) to %s', (status, code, type, kind) => {
    expect(kindOfStatus(status, code, type)).toBe(kind);
  });
});

describe('what may be retried', () => {
  it('retries the same target only for connection, timeout, server and rate-limit failures', () => {
    expect(
      ['unreachable', 'timeout', 'server', 'rate_limited'].every((k) => retryableOnSameTarget(k as never)),
    ).toBe(true);
    expect(retryableOnSameTarget('auth')).toBe(false);
    expect(retryableOnSameTarget('balance')).toBe(false);
    expect(retryableOnSameTarget('bad_request')).toBe(false);
  });
  it('fails over on everything but a bad request', () => {
    expect(canFailOver('auth')).toBe(true);
    expect(canFailOver('balance')).toBe(true);
    expect(canFailOver('bad_request')).toBe(false);
  });
});

describe('finalError', () => {
  const f = (kind: AttemptFailure['kind'], extra: Partial<AttemptFailure> = {}): AttemptFailure => ({
    kind,
    message: kind,
    ...extra,
  });

  it('is 429 upstream_rate_limited with the shortest Retry-After when every attempt was rate limited', () => {
    const e = finalError(
      [f('rate_limited', { retryAfterMs: 3000 }), f('rate_limited', { retryAfterMs: 1500 })],
      false,
    );
    expect([e.status, e.type, e.code, e.retryAfterSeconds]).toEqual([
      429,
      'rate_limit_error',
      'upstream_rate_limited',
      1.5,
    ]);
  });

  it('names the last failure that was not a rate limit otherwise', () => {
    expect(finalError([f('server'), f('rate_limited')], false).code).toBe('upstream_server_error');
    expect(finalError([f('server'), f('auth')], false).code).toBe('upstream_auth');
    expect(finalError([f('balance')], false).code).toBe('upstream_insufficient_balance');
    expect(finalError([f('unreachable')], false).code).toBe('upstream_unreachable');
  });

  it('is 504 when the deadline passed or the last failure was a timeout', () => {
    expect(finalError([f('server')], true).status).toBe(504);
    const e = finalError([f('server'), f('timeout')], false);
    expect([e.status, e.code]).toEqual([504, 'upstream_timeout']);
  });

  it('keeps the upstream code of a bad request as a 400', () => {
    const e = finalError([f('bad_request', { code: 'context_length_exceeded', param: 'messages' })], false);
    expect([e.status, e.type, e.code, e.param]).toEqual([
      400,
      'invalid_request_error',
      'context_length_exceeded',
      'messages',
    ]);
  });

  it('marks auth and balance failures as not worth a client retry', () => {
    expect(finalError([f('auth')], false).shouldRetry).toBe(false);
    expect(finalError([f('balance')], false).shouldRetry).toBe(false);
    expect(finalError([f('server')], false).shouldRetry).toBe(true);
  });
});
