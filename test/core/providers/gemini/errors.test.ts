import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../../functions/core/providers/gemini/adapter.ts';
import { parseGeminiError } from '../../../../functions/core/providers/gemini/errors.ts';
import { GeminiStreamTranslator } from '../../../../functions/core/providers/gemini/stream.ts';
import { kindOfStatus } from '../../../../functions/core/routing/failure.ts';

const body = (code: number, status: string, message: string, details?: unknown[]) =>
  JSON.stringify(
    { error: { code, message, status, ...(details === undefined ? {} : { details }) } },
    null,
    2,
  );

/** The failure kind the attempt loop derives (adapter's kind first, else the status). */
function kindOf(status: number, text: string) {
  const info = geminiAdapter.parseError(status, text);
  return info.kind ?? kindOfStatus(status, info.code, info.type);
}

const BAD_KEY = body(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
  {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason: 'API_KEY_INVALID',
    domain: 'googleapis.com',
    metadata: { service: 'generativelanguage.googleapis.com' },
  },
]);

describe('parseGeminiError', () => {
  it('reads message and status from Google error bodies, the status as the code', () => {
    expect(
      parseGeminiError(400, body(400, 'INVALID_ARGUMENT', '* contents: contents is not specified')),
    ).toEqual({
      message: '* contents: contents is not specified',
      code: 'INVALID_ARGUMENT',
    });
  });

  it('lets a FAILED_PRECONDITION (not offered where the key is) fail over, and keeps other 400s bad requests', () => {
    expect(
      kindOf(400, body(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.')),
    ).toBe('target_refused');
    expect(kindOf(400, body(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'))).toBe('bad_request');
  });

  it('classifies a bad key as auth although Gemini answers it with 400', () => {
    expect(parseGeminiError(400, BAD_KEY)).toMatchObject({ code: 'INVALID_ARGUMENT', kind: 'auth' });
    expect(kindOf(400, BAD_KEY)).toBe('auth');
    // The reason alone, or the message alone, is enough.
    expect(
      kindOf(400, body(400, 'INVALID_ARGUMENT', 'API Key not found. Please pass a valid API key.')),
    ).toBe('auth');
    expect(kindOf(400, body(400, 'INVALID_ARGUMENT', 'x', [{ reason: 'API_KEY_INVALID' }]))).toBe('auth');
  });

  it.each([
    [400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'bad_request'],
    [403, 'PERMISSION_DENIED', 'The caller does not have permission', 'auth'],
    [404, 'NOT_FOUND', 'models/nope is not found for API version v1beta', 'target_refused'],
    [429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota', 'rate_limited'],
    [500, 'INTERNAL', 'An internal error has occurred.', 'server'],
    [503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.', 'server'],
    [504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.', 'server'],
  ] as const)('%i %s is a %s failure', (status, name, message, kind) => {
    const text = body(status, name, message);
    expect(kindOf(status, text)).toBe(kind);
    expect(parseGeminiError(status, text)).toEqual({ message, code: name });
  });

  it('reads the array form of the non-SSE stream endpoint and plain-text bodies', () => {
    expect(parseGeminiError(500, `[${body(500, 'INTERNAL', 'boom')}]`)).toEqual({
      message: 'boom',
      code: 'INTERNAL',
    });
    expect(parseGeminiError(502, '<html>Bad Gateway</html>')).toEqual({
      message: '<html>Bad Gateway</html>',
      raw: true,
    });
    expect(parseGeminiError(502, '')).toEqual({ message: 'HTTP 502', raw: true });
  });
});

describe('a mid-stream Gemini error event', () => {
  it('carries the failure kind the same error would have as a status (FAILED_PRECONDITION fails over)', () => {
    const t = new GeminiStreamTranslator({ requestId: 'r-1', model: 'gemini-2.5-flash', created: 0 });
    const event = {
      error: { code: 400, message: 'User location is not supported.', status: 'FAILED_PRECONDITION' },
    };
    const piece = t.push(new TextEncoder().encode(`data: ${JSON.stringify(event)}\n\n`));
    expect(piece.failure).toMatchObject({
      kind: 'target_refused',
      message: 'User location is not supported.',
    });
    expect(piece.text).toBe('');
  });
});
