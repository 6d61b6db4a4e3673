/**
 * `/v1/messages` errors as the official `@anthropic-ai/sdk` sees them: one test per row of the gateway's
 * table, each answered in Anthropic's shape `{"type":"error","error":{"type","message"}}` with `request-id`
 * equal to `x-request-id`, so the SDK raises the error class of the status. The key's budget is reserved with
 * `max_tokens` (402 billing_error when it cannot hold it).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  anthropicWith,
  putClientKey,
  type SdkError,
  sdkFailure,
  startClaudeRig,
} from '../support/anthropic-sdk.ts';
import type { FakeAnthropic } from '../support/fake-anthropic.ts';
import type { FakeOpenAI } from '../support/fake-openai.ts';
import { clearOfMinuteEdge, type Harness, raw, route, startHarness } from '../support/gateway-harness.ts';

const MAX_BODY = 32 * 1024;

let claude: FakeAnthropic;
let relay: FakeOpenAI;
let h: Harness<never>;
let sdk: Anthropic;

beforeAll(async () => {
  ({ claude, relay, h } = await startClaudeRig('err', {
    routes: {
      claude: route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
      other: route([{ provider: 'claude', model: 'claude-haiku-4-5' }]),
      'claude-then-gpt': route([
        { provider: 'claude', model: 'claude-sonnet-4-5' },
        { provider: 'relay', model: 'gpt-4o' },
      ]),
    },
    // $15 per 1M output tokens: max_tokens 1,000 reserves $0.015.
    prices: { 'claude/claude-sonnet-4-5': { input: 3, output: 15 } },
    maxBodyBytes: MAX_BODY,
  }));
  sdk = new Anthropic({ baseURL: h.origin, apiKey: h.masterKey, maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
  await claude.close();
  await relay.close();
});
beforeEach(() => {
  h.reset();
  claude.reset();
  relay.reset();
});

const hello: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello' }],
};

/** The row's status, class and Anthropic type (sdkFailure checked the shape and the request id). */
function expectRow(
  err: SdkError,
  status: number,
  cls: new (...args: never[]) => SdkError,
  type: string,
): void {
  expect(err).toBeInstanceOf(cls);
  expect(err.status).toBe(status);
  expect(err.type).toBe(type);
}

const failure = sdkFailure;
const keyFor = (opts: Parameters<typeof putClientKey>[1]) => putClientKey(h.gateway, opts);

describe('401 authentication_error', () => {
  it('answers a request without a key', async () => {
    const res = await raw(h.origin, '/v1/messages', { key: null, body: JSON.stringify(hello) });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(res.headers.get('request-id')).toBe(res.headers.get('x-request-id'));
  });

  it('answers a wrong key sent as x-api-key or as a bearer token', async () => {
    for (const auth of [{ xApiKey: 'sk-sy-wrong-000' }, { bearer: 'sk-sy-wrong-000' }]) {
      const err = await failure(anthropicWith(h.origin, auth).messages.create(hello));
      expectRow(err, 401, Anthropic.AuthenticationError, 'authentication_error');
    }
    expect(claude.requests).toHaveLength(0);
  });
});

describe('the rows after authentication', () => {
  it('403 permission_error: a key whose allow-list excludes the model', async () => {
    const key = await keyFor({ models: ['claude'] });
    const err = await failure(
      anthropicWith(h.origin, { xApiKey: key }).messages.create({ ...hello, model: 'other' }),
    );
    expectRow(err, 403, Anthropic.PermissionDeniedError, 'permission_error');
  });

  it('404 not_found_error: no route for the model, asked whole or streamed', async () => {
    expectRow(
      await failure(sdk.messages.create({ ...hello, model: 'no-such-model' })),
      404,
      Anthropic.NotFoundError,
      'not_found_error',
    );
    const stream = sdk.messages.stream({ ...hello, model: 'no-such-model' });
    expectRow(await failure(stream.finalMessage()), 404, Anthropic.NotFoundError, 'not_found_error');
  });

  it('429 rate_limit_error: a key over its per-minute limit, with Retry-After', async () => {
    const client = anthropicWith(h.origin, { xApiKey: await keyFor({ rpm: 2 }) });
    await clearOfMinuteEdge();
    await client.messages.create(hello);
    await client.messages.create(hello);
    const err = await failure(client.messages.create(hello));
    expectRow(err, 429, Anthropic.RateLimitError, 'rate_limit_error');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(claude.requests).toHaveLength(2);
  });

  it('429 rate_limit_error: every target rate-limited', async () => {
    claude.enqueue({ status: 429, retryAfter: '0' });
    const err = await failure(sdk.messages.create(hello));
    expectRow(err, 429, Anthropic.RateLimitError, 'rate_limit_error');
    expect(claude.requests).toHaveLength(1);
  });

  it('413 request_too_large: a body over the gateway’s limit', async () => {
    const big = { ...hello, messages: [{ role: 'user' as const, content: 'x'.repeat(MAX_BODY) }] };
    const err = await failure(sdk.messages.create(big));
    expectRow(err, 413, Anthropic.ContentTooLargeError, 'request_too_large');
    expect(claude.requests).toHaveLength(0);
  });

  it('400 invalid_request_error: a body without max_tokens', async () => {
    const { max_tokens: _, ...noMax } = hello;
    const err = await failure(sdk.messages.create(noMax as Anthropic.MessageCreateParamsNonStreaming));
    expectRow(err, 400, Anthropic.BadRequestError, 'invalid_request_error');
    expect(err.apiMessage).toContain('max_tokens');
    expect(claude.requests).toHaveLength(0);
  });

  it('400 invalid_request_error: an anthropic-version header the gateway will not pass on', async () => {
    const err = await failure(
      sdk.messages.create(hello, { headers: { 'anthropic-version': 'v'.repeat(1025) } }),
    );
    expectRow(err, 400, Anthropic.BadRequestError, 'invalid_request_error');
    expect(err.apiMessage).toContain('anthropic-version');
    expect(claude.requests).toHaveLength(0);
  });

  it('400 invalid_request_error: Anthropic refuses the request, its message kept', async () => {
    const err = await failure(sdk.messages.create({ ...hello, tool_choice: { type: 'any' } }));
    expectRow(err, 400, Anthropic.BadRequestError, 'invalid_request_error');
    expect(err.apiMessage).toContain('tool_choice may only be specified while providing tools');
    expect(claude.requests).toHaveLength(1);
  });

  it('502 api_error: the provider key is refused, and Anthropic’s words about it are kept out', async () => {
    claude.enqueue({ status: 401, errorMessage: 'invalid x-api-key ak-err' });
    const err = await failure(sdk.messages.create(hello));
    expectRow(err, 502, Anthropic.InternalServerError, 'api_error');
    expect(err.apiMessage).not.toContain('ak-err');
    expect(err.headers?.get('x-should-retry')).toBe('false');
  });

  it('502 api_error: every target overloaded or failing (the upstream’s words kept out)', async () => {
    claude.setDefault({ status: 529 });
    relay.setDefault({ status: 503, errorMessage: 'relay internals: pool-7 exhausted' });
    const err = await failure(sdk.messages.create({ ...hello, model: 'claude-then-gpt' }));
    expectRow(err, 502, Anthropic.InternalServerError, 'api_error');
    expect(err.apiMessage).not.toContain('pool-7');
    expect(claude.requests).toHaveLength(1);
    expect(relay.requests).toHaveLength(1);
  });

  it('504 timeout_error: no first byte before the deadline', async () => {
    claude.enqueue({ firstByteDelayMs: 2000 });
    const err = await failure(sdk.messages.create(hello));
    expectRow(err, 504, Anthropic.GatewayTimeoutError, 'timeout_error');
  });
});

describe('402 billing_error', () => {
  it('refuses when max_tokens × the output price exceeds what the budget has left', async () => {
    // $0.005 left: max_tokens 1,000 at $15/1M ($0.015) does not fit; max_tokens 100 ($0.0015) does.
    const client = anthropicWith(h.origin, { xApiKey: await keyFor({ budgetUsd: 0.005, period: 'month' }) });
    const err = await failure(client.messages.create({ ...hello, max_tokens: 1000 }));
    expectRow(err, 402, Anthropic.PaymentRequiredError, 'billing_error');
    expect(claude.requests).toHaveLength(0);
    const stream = client.messages.stream({ ...hello, max_tokens: 1000 });
    expectRow(await failure(stream.finalMessage()), 402, Anthropic.PaymentRequiredError, 'billing_error');
    await expect(client.messages.create({ ...hello, max_tokens: 100 })).resolves.toMatchObject({
      type: 'message',
    });
  });
});

describe('503 overloaded_error', () => {
  it('answers a request still waiting when the gateway stops', async () => {
    const own = await startHarness({
      config: () => ({
        providers: { claude: { type: 'anthropic', baseUrls: [claude.url] } },
        routes: {
          claude: route([{ provider: 'claude', model: 'claude-sonnet-4-5' }], {
            timeouts: { firstByteMs: 20_000, idleMs: 20_000, totalMs: 30_000 },
          }),
        },
      }),
      providerKeys: { claude: 'ak-err' },
    });
    claude.enqueue({ firstByteDelayMs: 10_000 });
    const client = new Anthropic({ baseURL: own.origin, apiKey: own.masterKey, maxRetries: 0 });
    const pending = failure(client.messages.create(hello));
    while (claude.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    await own.gateway.close(200);
    expectRow(await pending, 503, Anthropic.ServiceUnavailableError, 'overloaded_error');
  });
});
