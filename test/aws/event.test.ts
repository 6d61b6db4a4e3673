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

  it('carries the query string of either payload (the admin API reads one), and none when there is none', () => {
    const v2 = toGatewayRequest({
      version: '2.0',
      rawPath: '/admin/v1/requests',
      rawQueryString: 'limit=5&status=5xx',
      headers: {},
      requestContext: { http: { method: 'GET' } },
    });
    expect(v2.query).toBe('limit=5&status=5xx');
    const v1 = toGatewayRequest({
      httpMethod: 'GET',
      path: '/admin/v1/requests',
      headers: {},
      queryStringParameters: { limit: '5', key: 'key_0123456789ab' },
      body: null,
    });
    expect(new URLSearchParams(v1.query).get('key')).toBe('key_0123456789ab');
    expect(new URLSearchParams(v1.query).get('limit')).toBe('5');
    const none = toGatewayRequest({ httpMethod: 'GET', path: '/v1/models', headers: {}, body: null });
    expect(none.query).toBeUndefined();
  });

  it('rejects an event that is neither shape', () => {
    expect(() => toGatewayRequest({ Records: [] })).toThrow();
  });
});
