import { describe, expect, it } from 'vitest';
import {
  anthropicErrorBody,
  anthropicErrorEvent,
  anthropicErrorType,
} from '../../../../functions/core/endpoints/messages/errors.ts';
import {
  AuthenticationError,
  BudgetExceededError,
  InternalError,
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestTooLargeError,
  ServerShuttingDownError,
  type SwitchyardError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../../../../functions/core/errors.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';

const init = { code: 'c', message: 'what went wrong' };

describe('anthropicErrorBody', () => {
  it.each([
    [new InvalidRequestError(init), 'invalid_request_error'],
    [new RequestTooLargeError(init), 'request_too_large'],
    [new AuthenticationError(init), 'authentication_error'],
    [new PermissionDeniedError(init), 'permission_error'],
    [new NotFoundError(init), 'not_found_error'],
    [new MethodNotAllowedError(init), 'invalid_request_error'],
    [new BudgetExceededError(init), 'billing_error'],
    [new RateLimitError(init), 'rate_limit_error'],
    [new UpstreamError(init), 'api_error'],
    [new UpstreamTimeoutError(init), 'timeout_error'],
    [new ServerShuttingDownError(init), 'overloaded_error'],
    [new InternalError(init), 'api_error'],
  ] as [SwitchyardError, string][])('writes %s (status %#) as Anthropic’s %s', (err, type) => {
    expect(anthropicErrorBody(err, 'req_1')).toEqual({
      type: 'error',
      error: { type, message: 'what went wrong' },
      request_id: 'req_1',
    });
  });

  it('follows the doc’s catch-alls for statuses without a row, and maps 529', () => {
    expect(anthropicErrorType(409)).toBe('invalid_request_error');
    expect(anthropicErrorType(501)).toBe('api_error');
    expect(anthropicErrorType(529)).toBe('overloaded_error');
  });

  it('leaves request_id out when none is given', () => {
    expect(anthropicErrorBody(new RateLimitError(init))).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'what went wrong' },
    });
  });
});

describe('anthropicErrorEvent', () => {
  it('is one whole `event: error` SSE event holding the body', () => {
    const text = anthropicErrorEvent(new UpstreamTimeoutError(init));
    expect(text.endsWith('\n\n')).toBe(true);
    const events = parseEvents(text);
    expect(events).toHaveLength(1);
    expect(events[0]?.event).toBe('error');
    expect(JSON.parse(events[0]?.data ?? '')).toEqual({
      type: 'error',
      error: { type: 'timeout_error', message: 'what went wrong' },
    });
  });
});
