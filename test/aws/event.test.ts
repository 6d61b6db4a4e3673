import { describe, expect, it } from 'vitest';
import { toGatewayRequest } from '../../functions/aws/event.ts';

describe('toGatewayRequest', () => {
  it('reads a function URL event (API Gateway v2 payload)', () => {
    const r = toGatewayRequest({
      version: '2.0',
      rawPath: '/v1/chat/completions',
      rawQueryString: '',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      requestContext: { http: { method: 'POST', path: '/v1/chat/completions' } },
      body: Buffer.from('{"a":1}').toString('base64'),
      isBase64Encoded: true,
    });
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/v1/chat/completions');
    expect(r.headers.authorization).toBe('Bearer k');
    expect(Buffer.from(r.body as Uint8Array).toString()).toBe('{"a":1}');
  });

  it('reads a REST API proxy event (v1 payload) and lower-cases its header names', () => {
    const r = toGatewayRequest({
      httpMethod: 'GET',
      path: '/v1/models',
      resource: '/{proxy+}',
      headers: { Authorization: 'Bearer k', 'X-Request-Id': 'abc' },
      multiValueHeaders: { Authorization: ['Bearer k'] },
      requestContext: { stage: 'prod' },
      body: null,
      isBase64Encoded: false,
    });
    expect(r).toMatchObject({ method: 'GET', path: '/v1/models', body: undefined });
    expect(r.headers).toEqual({ authorization: 'Bearer k', 'x-request-id': 'abc' });
  });

  it('rejects an event that is neither shape', () => {
    expect(() => toGatewayRequest({ Records: [] })).toThrow();
  });
});
