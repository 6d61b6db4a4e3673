/**
 * OpenAI-compatible relays are presets of the one `openai` adapter: a relay's own request options (OpenRouter's
 * provider routing) pass through untouched, its attribution headers come from the config, and the key goes as
 * a bearer token. The preset's public base URL is swapped for a loopback fake (no network in tests).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, route, startHarness, upstreamBody } from '../support/gateway-harness.ts';

let h: Harness<'openrouter' | 'dmx'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { openrouter: {}, dmx: {} },
    config: (f) => ({
      providers: {
        or: {
          preset: 'openrouter',
          baseUrls: [f.openrouter.url],
          headers: { 'HTTP-Referer': 'https://my.app', 'X-OpenRouter-Title': 'My App' },
        },
        // A dead first host, then the live one: the next base URL on a connection failure.
        dmx: { preset: 'dmxapi', baseUrls: ['http://127.0.0.1:9/v1', f.dmx.url] },
      },
      routes: {
        cheap: route([{ provider: 'or', model: 'openai/gpt-4o-mini' }]),
        dmx: route([{ provider: 'dmx', model: 'gpt-4o-mini' }]),
      },
    }),
    providerKeys: { or: 'sk-or-v1-test', dmx: 'sk-dmx-test' },
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

describe('the openrouter preset', () => {
  it('passes provider routing options (order, allow_fallbacks, sort) through untouched', async () => {
    const provider = { order: ['anthropic', 'openai'], allow_fallbacks: false, sort: 'throughput' };
    await h.client.chat.completions.create({
      model: 'cheap',
      messages: [{ role: 'user', content: 'hi' }],
      // @ts-expect-error OpenRouter's own field, not in the OpenAI types: sent as given
      provider,
    });
    const sent = upstreamBody(h.fakes.openrouter);
    expect(sent.provider).toEqual(provider);
    expect(sent.model).toBe('openai/gpt-4o-mini');
  });

  it('sends the bearer key and the attribution headers of the config', async () => {
    await h.client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] });
    const headers = h.fakes.openrouter.requests[0]?.headers ?? {};
    expect(headers.authorization).toBe('Bearer sk-or-v1-test');
    expect(headers['http-referer']).toBe('https://my.app');
    expect(headers['x-openrouter-title']).toBe('My App');
  });
});

describe('a preset with several base URLs', () => {
  it('moves to the next base URL when the first refuses the connection', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'dmx', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hi');
    expect(h.fakes.dmx.requests).toHaveLength(1);
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s.attemptLog.at(-1)?.host).toBe(new URL(h.fakes.dmx.url).host);
  });
});
