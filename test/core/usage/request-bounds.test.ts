/**
 * What a request can cost at most, per target: every input part counts (text by its bytes, images at their
 * documented worst case, audio by its size, files at the route's maximum input), the output at the cap that
 * goes upstream, and a budget reserves the largest cost over the route's priced targets.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { TOOLS_OVERHEAD } from '../../../functions/core/usage/input-bound.ts';
import { RequestBounds } from '../../../functions/core/usage/request-bounds.ts';

const config = parseConfig({
  providers: {
    a: { type: 'mock' },
    b: { type: 'mock' },
    claude: { type: 'anthropic' },
    claude8k: { type: 'anthropic', maxTokens: 8192 },
    aws: { type: 'bedrock', region: 'us-east-1', maxTokens: 2048 },
    gem: { type: 'gemini' },
  },
  routes: {
    r: {
      targets: [
        { provider: 'a', model: 'small' },
        { provider: 'b', model: 'big' },
      ],
      reserveOutputTokens: 1000,
    },
    free: { targets: [{ provider: 'a', model: 'unpriced' }] },
    vision: {
      targets: [
        { provider: 'a', model: 'gpt-4o' },
        { provider: 'a', model: 'gpt-4o-mini' },
        { provider: 'a', model: 'custom' },
        { provider: 'a', model: 'some-vl-model' },
        { provider: 'claude', model: 'any-name' },
        { provider: 'claude8k', model: 'claude-sonnet-4-5' },
        { provider: 'aws', model: 'anthropic.claude-3-5-haiku-20241022-v1:0' },
        { provider: 'gem', model: 'gemini-2.5-flash' },
      ],
    },
    capped: { targets: [{ provider: 'a', model: 'gpt-4o' }], maxInputTokens: 5000 },
  },
  prices: {
    'a/small': { input: 1, output: 2 },
    'b/big': { input: 3, output: 10 },
    'a/custom': { input: 1, output: 1, imageTokens: 500 },
  },
});

type Body = Record<string, unknown>;
const chat = (content: unknown, extra: Body = {}): Body => ({
  model: 'vision',
  messages: [{ role: 'user', content }],
  ...extra,
});
const image = (detail?: string) => ({
  type: 'image_url',
  image_url: { url: 'data:image/png;base64,AAAA', ...(detail === undefined ? {} : { detail }) },
});
const images = (n: number, detail?: string) => [
  { type: 'text', text: 'what is this?' },
  ...Array.from({ length: n }, () => image(detail)),
];
/** Input bound of a chat body on one target of a route. */
const input = (route: string, provider: string, model: string, body: Body) =>
  new RequestBounds(config, config.routes[route]!, 'chat', body).of(provider, model).inputTokens;

describe('RequestBounds input', () => {
  it('counts every UTF-8 byte of text as a token: 1,000 "€" add 3,000', () => {
    const base = input('vision', 'a', 'gpt-4o', chat(''));
    expect(input('vision', 'a', 'gpt-4o', chat('€'.repeat(1000))) - base).toBe(3000);
    expect(input('vision', 'a', 'gpt-4o', chat([{ type: 'text', text: '€'.repeat(1000) }]))).toBeGreaterThan(
      base + 3000,
    );
  });

  it('counts tool definitions, response formats and fields it does not know, plus the tool-use overhead', () => {
    const base = input('vision', 'a', 'gpt-4o', chat('hi'));
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    const withTools = input('vision', 'a', 'gpt-4o', chat('hi', { tools }));
    // Every key and string of the definition is text the upstream reads.
    const text = 'type function function name lookup parameters type object'.replaceAll(' ', '');
    expect(withTools - base).toBeGreaterThanOrEqual(text.length + TOOLS_OVERHEAD);
    const unknown = input('vision', 'a', 'gpt-4o', chat('hi', { prediction: { content: 'x'.repeat(500) } }));
    expect(unknown - base).toBeGreaterThanOrEqual(500);
  });

  it("counts each image at gpt-4o's documented worst case: 1,445 tokens at high or auto detail, 85 at low", () => {
    const text = input('vision', 'a', 'gpt-4o', chat(images(0)));
    expect(input('vision', 'a', 'gpt-4o', chat(images(50))) - text).toBe(50 * 1445);
    expect(input('vision', 'a', 'gpt-4o', chat(images(50, 'high'))) - text).toBe(50 * 1445);
    expect(input('vision', 'a', 'gpt-4o', chat(images(50, 'low'))) - text).toBe(50 * 85);
  });

  it('counts gpt-4o-mini images at its own, much larger, tile tokens (2,833 + 8 × 5,667)', () => {
    const text = input('vision', 'a', 'gpt-4o-mini', chat(images(0)));
    expect(input('vision', 'a', 'gpt-4o-mini', chat(images(2))) - text).toBe(2 * 48_169);
    expect(input('vision', 'a', 'gpt-4o-mini', chat(images(2, 'low'))) - text).toBe(2 * 2833);
  });

  it('counts Claude and Gemini images at their caps, and uses a price entry’s imageTokens first', () => {
    const per = (provider: string, model: string) =>
      input('vision', provider, model, chat(images(1))) - input('vision', provider, model, chat(images(0)));
    expect(per('claude', 'any-name')).toBe(1639);
    expect(per('aws', 'anthropic.claude-3-5-haiku-20241022-v1:0')).toBe(1639);
    expect(per('gem', 'gemini-2.5-flash')).toBe(6192);
    expect(per('a', 'custom')).toBe(500);
    // A model no row knows: the largest per-image number of the table.
    expect(per('a', 'some-vl-model')).toBe(48_169);
  });

  it('counts audio by its size: 8 decoded bytes a token', () => {
    const audio = { type: 'input_audio', input_audio: { data: 'A'.repeat(8000), format: 'wav' } };
    const base = input('vision', 'a', 'gpt-4o', chat([]));
    // 8,000 base64 characters are 6,000 bytes: 750 tokens.
    expect(input('vision', 'a', 'gpt-4o', chat([audio])) - base).toBe(750);
  });

  it("counts a file (inline or by id) and an unknown part type at the route's maxInputTokens", () => {
    const file = { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0x' } };
    expect(input('capped', 'a', 'gpt-4o', chat([file]))).toBe(5000);
    expect(input('capped', 'a', 'gpt-4o', chat([{ type: 'file', file: { file_id: 'file-1' } }]))).toBe(5000);
    expect(input('capped', 'a', 'gpt-4o', chat([{ type: 'video_url', video_url: { url: 'x' } }]))).toBe(5000);
    expect(input('vision', 'a', 'gpt-4o', chat([file]))).toBe(1_048_576);
  });

  it("never bounds above the route's maxInputTokens (no target reads past its context window)", () => {
    expect(input('capped', 'a', 'gpt-4o', chat('x'.repeat(10_000)))).toBe(5000);
    expect(input('capped', 'a', 'gpt-4o', chat(images(10)))).toBe(5000);
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(input('vision', 'a', 'gpt-4o', chat('hi', { metadata: { deep } }))).toBeGreaterThan(4);
  });

  it('bounds embeddings by string bytes and token-array lengths', () => {
    const of = (inputValue: unknown) =>
      new RequestBounds(config, config.routes.r!, 'embeddings', { model: 'r', input: inputValue }).of(
        'a',
        'small',
      );
    expect(of('€€').inputTokens - of('').inputTokens).toBe(6);
    expect(of([1, 2, 3]).inputTokens - of([1]).inputTokens).toBe(2);
    expect(of([[1, 2, 3], [4]]).inputTokens).toBeGreaterThanOrEqual(4);
    expect(of('x')).toMatchObject({ outputCap: 0, choices: 1 });
  });
});

describe('RequestBounds output cap', () => {
  const cap = (provider: string, model: string, body: Body) =>
    new RequestBounds(config, config.routes.vision!, 'chat', body).of(provider, model);

  it("takes the client's max_tokens / max_completion_tokens (the larger when both are sent)", () => {
    expect(cap('a', 'gpt-4o', chat('hi', { max_tokens: 50 })).outputCap).toBe(50);
    expect(cap('a', 'gpt-4o', chat('hi', { max_completion_tokens: 70 })).outputCap).toBe(70);
    expect(cap('a', 'gpt-4o', chat('hi', { max_tokens: 50, max_completion_tokens: 30 })).outputCap).toBe(50);
    expect(cap('claude', 'x', chat('hi', { max_tokens: 50 })).outputCap).toBe(50);
  });

  it('else the cap a native adapter sends: Anthropic always (maxTokens, else 4096), Bedrock when configured', () => {
    expect(cap('claude', 'x', chat('hi')).outputCap).toBe(4096);
    expect(cap('claude8k', 'claude-sonnet-4-5', chat('hi')).outputCap).toBe(8192);
    expect(cap('aws', 'anthropic.claude-3-5-haiku-20241022-v1:0', chat('hi')).outputCap).toBe(2048);
    expect(cap('gem', 'gemini-2.5-flash', chat('hi')).outputCap).toBeUndefined();
    expect(cap('a', 'gpt-4o', chat('hi')).outputCap).toBeUndefined();
  });

  it('counts n choices', () => {
    expect(cap('a', 'gpt-4o', chat('hi', { n: 3 })).choices).toBe(3);
    expect(cap('a', 'gpt-4o', chat('hi', { n: null })).choices).toBe(1);
  });
});

describe('RequestBounds.reserveUsd', () => {
  const route = config.routes.r!;
  const reserve = (body: Body) => new RequestBounds(config, route, 'chat', body);

  it("reserves the input bound and the client's cap at each target's prices, the largest over the route", () => {
    const b = reserve(chat('hi', { max_tokens: 50 }));
    const big = b.of('b', 'big');
    expect(b.reserveUsd()).toBeCloseTo((big.inputTokens * 3 + 50 * 10) / 1e6, 12);
  });

  it("falls back to the route's reserveOutputTokens without a cap, once per choice", () => {
    const b = reserve(chat('hi', { n: 2 }));
    expect(b.reserveUsd()).toBeCloseTo((b.of('b', 'big').inputTokens * 3 + 2 * 1000 * 10) / 1e6, 12);
  });

  it('reserves nothing for a route without prices, and no output for embeddings', () => {
    expect(new RequestBounds(config, config.routes.free!, 'chat', chat('hi')).reserveUsd()).toBe(0);
    const e = new RequestBounds(config, route, 'embeddings', { model: 'r', input: 'hello' });
    expect(e.reserveUsd()).toBeCloseTo((e.of('b', 'big').inputTokens * 3) / 1e6, 12);
  });

  it('reserves input at the dearest input price it can be billed at: a prompt written to the cache', () => {
    const cached = parseConfig({
      providers: { claude: { type: 'anthropic' } },
      routes: { c: { targets: [{ provider: 'claude', model: 'sonnet' }] } },
      prices: { 'claude/sonnet': { input: 3, output: 15, cachedInput: 0.3, cacheWriteInput: 6 } },
    });
    const b = new RequestBounds(cached, cached.routes.c!, 'chat', chat('hi', { max_tokens: 10 }));
    const input = b.of('claude', 'sonnet').inputTokens;
    expect(b.reserveUsd()).toBeCloseTo((input * 6 + 10 * 15) / 1e6, 12);
  });
});
