import { describe, expect, it } from 'vitest';
import { SecretMasker } from '../../../functions/core/secrets.ts';
import { clientMessageOf, detailOf, summaryOf, tokenOf } from '../../../functions/core/upstream/messages.ts';

const KEY = 'QmVhcmVyVG9rZW5Gb3JSZWxheUNv9f8e';
const secrets = new SecretMasker();
secrets.add([KEY]);

describe('clientMessageOf', () => {
  it("passes on the upstream's words, masked, only for a request it refused in a JSON error", () => {
    const said = { message: `context too long for ${KEY}` };
    expect(clientMessageOf(secrets, 'relay-a', 'bad_request', 400, said)).toBe('context too long for …9f8e');
    expect(clientMessageOf(secrets, 'relay-a', 'target_refused', 404, said)).toBe(
      'context too long for …9f8e',
    );
  });

  it('summarises every other failure with the provider id and the status', () => {
    const said = { message: 'internal stack trace' };
    expect(clientMessageOf(secrets, 'relay-a', 'server', 503, said)).toBe('relay-a failed (HTTP 503)');
    expect(clientMessageOf(secrets, 'relay-a', 'auth', 401, said)).toBe(
      "relay-a rejected the gateway's API key for it (HTTP 401); check the provider keys",
    );
    expect(clientMessageOf(secrets, 'relay-a', 'balance', 402, said)).toBe(
      'relay-a says the account has no balance left (HTTP 402)',
    );
    expect(clientMessageOf(secrets, 'relay-a', 'rate_limited', 429, said)).toBe(
      'relay-a is rate limiting (HTTP 429)',
    );
  });

  it('summarises a refusal whose body was not a JSON error (an HTML page)', () => {
    const page = { message: '<h1>413</h1>', raw: true };
    expect(clientMessageOf(secrets, 'relay-a', 'bad_request', 413, page)).toBe(
      'relay-a refused the request (HTTP 413)',
    );
  });

  it('cuts a long upstream message short', () => {
    const long = { message: 'x'.repeat(5000) };
    expect(clientMessageOf(secrets, 'relay-a', 'bad_request', 400, long).length).toBeLessThanOrEqual(1001);
  });
});

describe('detailOf', () => {
  it('keeps one masked line of at most 500 characters for the log', () => {
    const d = detailOf(secrets, `<html>\n  <body>${KEY}</body>\n</html>${'y'.repeat(2000)}`);
    expect(d).not.toContain('\n');
    expect(d).not.toContain(KEY);
    expect(d?.length).toBeLessThanOrEqual(501);
    expect(detailOf(secrets, '  \n ')).toBeUndefined();
  });
});

describe('tokenOf', () => {
  it('passes on codes that look like identifiers, and nothing else', () => {
    expect(tokenOf(secrets, 'context_length_exceeded')).toBe('context_length_exceeded');
    expect(tokenOf(secrets, 'messages[0].content')).toBe('messages[0].content');
    expect(tokenOf(secrets, 'has spaces')).toBeUndefined();
    expect(tokenOf(secrets, 'x'.repeat(65))).toBeUndefined();
    expect(tokenOf(secrets, KEY)).toBeUndefined();
  });
});

describe('summaryOf', () => {
  it('says where a failure without a status came from', () => {
    expect(summaryOf('relay-a', 'server', undefined, 'an error event before the answer started')).toBe(
      'relay-a failed (an error event before the answer started)',
    );
    expect(summaryOf('relay-a', 'unreachable', undefined)).toBe('relay-a could not be reached');
  });
});
