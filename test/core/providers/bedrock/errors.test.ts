import { describe, expect, it } from 'vitest';
import { parseBedrockError } from '../../../../functions/core/providers/bedrock/adapter.ts';
import { kindOfStatus } from '../../../../functions/core/routing/failure.ts';

const body = (type: string, message: string) => JSON.stringify({ __type: type, message });

/** The failure kind the attempt loop uses: the adapter's override, else the status. */
function kindOf(status: number, type: string, message = 'm'): string {
  const info = parseBedrockError(status, body(type, message));
  return info.kind ?? kindOfStatus(status, info.code, info.type);
}

describe('parseBedrockError', () => {
  it('reads the exception name as the code and keeps the message', () => {
    expect(parseBedrockError(429, body('ThrottlingException', 'Too many requests, please wait.'))).toEqual({
      message: 'Too many requests, please wait.',
      code: 'ThrottlingException',
      type: 'rate_limit_error',
      kind: 'rate_limited',
    });
  });

  it.each([
    [429, 'ThrottlingException', 'rate_limited'],
    [400, 'ServiceQuotaExceededException', 'rate_limited'],
    [403, 'AccessDeniedException', 'auth'],
    [403, 'UnrecognizedClientException', 'auth'],
    [400, 'ValidationException', 'bad_request'],
    [404, 'ResourceNotFoundException', 'target_refused'],
    [429, 'ModelNotReadyException', 'server'],
    [408, 'ModelTimeoutException', 'server'],
    [424, 'ModelErrorException', 'server'],
    [500, 'InternalServerException', 'server'],
    [503, 'ServiceUnavailableException', 'server'],
  ])('classifies %i %s as %s', (status, type, kind) => {
    expect(kindOf(status, type)).toBe(kind);
  });

  it('strips the namespace AWS may put around the exception name', () => {
    expect(parseBedrockError(400, body('com.amazon.bedrock#ValidationException', 'bad')).code).toBe(
      'ValidationException',
    );
    expect(
      parseBedrockError(400, body('ValidationException:http://internal.amazon.com/coral/', 'bad')).code,
    ).toBe('ValidationException');
  });

  it("gives an over-long input OpenAI's context_length_exceeded code", () => {
    const info = parseBedrockError(
      400,
      body('ValidationException', 'Input is too long for requested model.'),
    );
    expect(info).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(kindOf(400, 'ValidationException', 'Input is too long for requested model.')).toBe('bad_request');
  });

  it('keeps an unknown exception name as the code and lets the status decide', () => {
    expect(parseBedrockError(409, body('ConflictException', 'busy'))).toEqual({
      message: 'busy',
      code: 'ConflictException',
    });
    expect(kindOf(409, 'ConflictException')).toBe('server');
  });

  it('falls back to the text, or the status, for a body that is not the transport JSON', () => {
    expect(parseBedrockError(502, '<html>Bad Gateway</html>')).toEqual({
      message: '<html>Bad Gateway</html>',
      raw: true,
    });
    expect(parseBedrockError(500, '')).toEqual({ message: 'HTTP 500', raw: true });
    expect(parseBedrockError(500, '[]')).toEqual({ message: 'HTTP 500' });
  });
});
