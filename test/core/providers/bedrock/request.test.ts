import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../../../functions/core/config/schema.ts';
import { bedrockBaseUrl } from '../../../../functions/core/config/schema.ts';
import { bedrockAdapter } from '../../../../functions/core/providers/bedrock/adapter.ts';
import { BEDROCK_FIELDS, JSON_TOOL } from '../../../../functions/core/providers/bedrock/request.ts';
import type { Operation } from '../../../../functions/core/providers/types.ts';
import { unsupportedFieldError } from '../unsupported.ts';

type Json = Record<string, unknown>;
const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const PROVIDER = { type: 'bedrock', region: 'eu-west-1' } as ProviderConfig;

function call(body: Json, opts: { op?: Operation; provider?: ProviderConfig; extra?: Json } = {}) {
  return bedrockAdapter.buildCall({
    op: opts.op ?? 'chat',
    body,
    model: MODEL,
    apiKey: undefined,
    requestId: 'req-123',
    extraHeaders: opts.extra as Record<string, string> | undefined,
    provider: opts.provider ?? PROVIDER,
    epochMs: 1_700_000_000_000,
  });
}

const input = (body: Json, opts?: Parameters<typeof call>[1]): Json =>
  JSON.parse(call(body, opts).body ?? '{}');
const user = (content: unknown) => ({ role: 'user', content });
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};
const toolTurns = [
  user('weather in Paris?'),
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      {
        id: 'call_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
      },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21°C' },
];

describe('bedrockAdapter.buildCall', () => {
  it('posts to /model/<id>/converse, or /converse-stream for a stream, with the model id URL-encoded', () => {
    expect(call({ messages: [user('hi')] }).path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(call({ messages: [user('hi')], stream: true }).path).toBe(
      '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream',
    );
    expect(call({ messages: [user('hi')] }).method).toBe('POST');
  });

  it('sends x-request-id, the region for the transport, and the provider headers', () => {
    const { headers } = call({ messages: [user('hi')] }, { extra: { 'x-team': 'billing' } });
    expect(headers).toEqual({
      'content-type': 'application/json',
      'x-request-id': 'req-123',
      'x-switchyard-region': 'eu-west-1',
      'x-team': 'billing',
    });
  });

  it('refuses embeddings and model listing: not in this adapter', () => {
    for (const op of ['embeddings', 'models'] as const) {
      const err = unsupportedFieldError(() => call({ input: 'x' }, { op }));
      expect(err.param).toBe('model');
      expect(err.message).toMatch(/not supported by the bedrock adapter/);
    }
  });

  it('names the regional runtime endpoint as the default base URL', () => {
    expect(bedrockBaseUrl('us-east-1')).toBe('https://bedrock-runtime.us-east-1.amazonaws.com');
  });
});

describe('Bedrock request: messages', () => {
  it('moves system and developer messages into system blocks', () => {
    const out = input({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: [{ type: 'text', text: 'be kind' }] },
        user('hi'),
      ],
    });
    expect(out.system).toEqual([{ text: 'be brief' }, { text: 'be kind' }]);
    expect(out.messages).toEqual([{ role: 'user', content: [{ text: 'hi' }] }]);
  });

  it('turns a data: URL image into an image block with base64 bytes', () => {
    const out = input({
      messages: [
        user([
          { type: 'text', text: 'what is it?' },
          { type: 'image_url', image_url: { url: 'data:image/jpg;base64,AAEC' } },
        ]),
      ],
    });
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [{ text: 'what is it?' }, { image: { format: 'jpeg', source: { bytes: 'AAEC' } } }],
      },
    ]);
  });

  it('rejects an http image URL (Converse needs bytes) and an unknown image type, naming the part', () => {
    const url = unsupportedFieldError(() =>
      call({ messages: [user([{ type: 'image_url', image_url: { url: 'https://x.example/a.png' } }])] }),
    );
    expect(url.param).toBe('messages[0].content[0]');
    expect(url.message).toMatch(/bytes, not URLs/);
    const tiff = unsupportedFieldError(() =>
      call({ messages: [user([{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AA' } }])] }),
    );
    expect(tiff.message).toMatch(/png, jpeg, gif or webp/);
  });

  it('rejects audio parts and the legacy function role', () => {
    expect(
      unsupportedFieldError(() => call({ messages: [user([{ type: 'input_audio', input_audio: {} }])] }))
        .param,
    ).toBe('messages[0].content[0]');
    expect(
      unsupportedFieldError(() => call({ messages: [{ role: 'function', name: 'f', content: 'x' }] })).param,
    ).toBe('messages[0].role');
  });

  it('writes tool calls as toolUse and tool results as a user turn of toolResult blocks', () => {
    const out = input({ messages: toolTurns, tools: [weather] });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ text: 'weather in Paris?' }] },
      {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { location: 'Paris' } } }],
      },
      {
        role: 'user',
        content: [{ toolResult: { toolUseId: 'call_1', content: [{ text: 'sunny, 21°C' }] } }],
      },
    ]);
  });

  it('merges consecutive turns of one role: parallel tool results and a following user message', () => {
    const out = input({
      messages: [
        user('a'),
        {
          role: 'assistant',
          content: 'calling both',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'one' },
        { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'two' }] },
        user('thanks'),
      ],
      tools: [weather],
    });
    const turns = out.messages as { role: string; content: Json[] }[];
    expect(turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
    expect(turns[1]?.content[0]).toEqual({ text: 'calling both' });
    expect(turns[1]?.content[2]).toEqual({ toolUse: { toolUseId: 'c2', name: 'get_weather', input: {} } });
    expect(turns[2]?.content).toEqual([
      { toolResult: { toolUseId: 'c1', content: [{ text: 'one' }] } },
      { toolResult: { toolUseId: 'c2', content: [{ text: 'two' }] } },
      { text: 'thanks' },
    ]);
  });

  it('rejects tool-call arguments that are not a JSON object', () => {
    const messages = [
      user('a'),
      {
        role: 'assistant',
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
      },
    ];
    expect(unsupportedFieldError(() => call({ messages })).param).toBe(
      'messages[1].tool_calls[0].function.arguments',
    );
  });
});

describe('Bedrock request: inference parameters', () => {
  it('maps max tokens, temperature, top_p and stop into inferenceConfig', () => {
    const out = input({ messages: [user('hi')], max_tokens: 100, temperature: 0.5, top_p: 0.9, stop: 'END' });
    expect(out.inferenceConfig).toEqual({
      maxTokens: 100,
      temperature: 0.5,
      topP: 0.9,
      stopSequences: ['END'],
    });
  });

  it('prefers max_completion_tokens, and sends the provider maxTokens only when the client set none', () => {
    expect(
      input({ messages: [user('hi')], max_tokens: 5, max_completion_tokens: 7 }).inferenceConfig,
    ).toEqual({
      maxTokens: 7,
    });
    const provider = { ...PROVIDER, maxTokens: 2048 } as ProviderConfig;
    expect(input({ messages: [user('hi')], temperature: 0 }, { provider }).inferenceConfig).toEqual({
      temperature: 0,
      maxTokens: 2048,
    });
    expect(input({ messages: [user('hi')] }).inferenceConfig).toBeUndefined();
  });

  it('clamps temperature into Converse 0..1 with a warning', () => {
    const c = call({ messages: [user('hi')], temperature: 1.7 });
    expect(JSON.parse(c.body ?? '').inferenceConfig).toEqual({ temperature: 1 });
    expect(c.warnings).toContain('temperature 1.7 clamped to 1');
  });

  it('drops penalties, seed, logit_bias and user with a warning each, sending none of them', () => {
    const c = call({
      messages: [user('hi')],
      frequency_penalty: 0.5,
      presence_penalty: 0.1,
      seed: 7,
      logit_bias: { '1': 2 },
      user: 'u-1',
    });
    expect(Object.keys(JSON.parse(c.body ?? ''))).toEqual(['messages']);
    for (const f of ['frequency_penalty', 'presence_penalty', 'seed', 'logit_bias', 'user']) {
      expect(c.warnings).toContain(`${f} dropped: Bedrock has no equivalent`);
    }
  });

  it('takes n = 1 and rejects n > 1, logprobs, audio output and web search', () => {
    expect(input({ messages: [user('hi')], n: 1, logprobs: false }).n).toBeUndefined();
    expect(unsupportedFieldError(() => call({ messages: [user('hi')], n: 2 })).param).toBe('n');
    expect(unsupportedFieldError(() => call({ messages: [user('hi')], logprobs: true })).param).toBe(
      'logprobs',
    );
    expect(
      unsupportedFieldError(() => call({ messages: [user('hi')], modalities: ['text', 'audio'] })).param,
    ).toBe('modalities');
    expect(unsupportedFieldError(() => call({ messages: [user('hi')], web_search_options: {} })).param).toBe(
      'web_search_options',
    );
  });

  it('has a row for every field it documents, each with a policy', () => {
    for (const f of ['messages', 'tools', 'tool_choice', 'response_format', 'logprobs', 'seed', 'user']) {
      expect(BEDROCK_FIELDS[f]).toBeDefined();
    }
  });
});

describe('Bedrock request: tools and JSON mode', () => {
  const ask = [user('weather in Paris?')];

  it('declares function tools as toolSpecs and maps tool_choice auto / required / a function', () => {
    const spec = {
      toolSpec: {
        name: 'get_weather',
        description: 'Weather of a city',
        inputSchema: { json: weather.function.parameters },
      },
    };
    expect(input({ messages: ask, tools: [weather] }).toolConfig).toEqual({ tools: [spec] });
    expect(input({ messages: ask, tools: [weather], tool_choice: 'auto' }).toolConfig).toEqual({
      tools: [spec],
      toolChoice: { auto: {} },
    });
    expect(input({ messages: ask, tools: [weather], tool_choice: 'required' }).toolConfig).toMatchObject({
      toolChoice: { any: {} },
    });
    const named = { type: 'function', function: { name: 'get_weather' } };
    expect(input({ messages: ask, tools: [weather], tool_choice: named }).toolConfig).toMatchObject({
      toolChoice: { tool: { name: 'get_weather' } },
    });
  });

  it("leaves the tools out for tool_choice 'none' when the history has no tool blocks", () => {
    expect(input({ messages: ask, tools: [weather], tool_choice: 'none' }).toolConfig).toBeUndefined();
  });

  it("keeps the tools (no toolChoice) for 'none' when the history has tool blocks, and says so", () => {
    const c = call({ messages: toolTurns, tools: [weather], tool_choice: 'none' });
    const config = JSON.parse(c.body ?? '').toolConfig;
    expect(config.tools).toHaveLength(1);
    expect(config.toolChoice).toBeUndefined();
    expect(c.warnings?.some((w) => w.includes("tool_choice 'none' cannot be expressed"))).toBe(true);
  });

  it('declares the tools a history used when the request offers none (Converse requires toolConfig)', () => {
    const c = call({ messages: toolTurns });
    expect(JSON.parse(c.body ?? '').toolConfig).toEqual({
      tools: [
        { toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
    });
    expect(c.warnings).toContain('tools declared for the history (Bedrock needs them): get_weather');
  });

  it('rejects a tool that is not a function', () => {
    expect(
      unsupportedFieldError(() => call({ messages: ask, tools: [{ type: 'custom', custom: {} }] })).param,
    ).toBe('tools[0]');
  });

  it('forces a tool with the schema for json_schema, named after the schema', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    const out = input({
      messages: ask,
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } },
    });
    expect(out.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'reply',
            description: 'Answer with JSON that fits this schema.',
            inputSchema: { json: schema },
          },
        },
      ],
      toolChoice: { tool: { name: 'reply' } },
    });
  });

  it('forces an object-schema tool for json_object', () => {
    const out = input({ messages: ask, response_format: { type: 'json_object' } });
    expect(out.toolConfig).toMatchObject({
      tools: [{ toolSpec: { name: JSON_TOOL, inputSchema: { json: { type: 'object' } } } }],
      toolChoice: { tool: { name: JSON_TOOL } },
    });
  });

  it('with client tools and JSON mode, offers both and requires one of them (a call or the JSON answer)', () => {
    const out = input({ messages: ask, tools: [weather], response_format: { type: 'json_object' } });
    const config = out.toolConfig as { tools: { toolSpec: Json }[]; toolChoice: Json };
    expect(config.tools.map((t) => t.toolSpec.name)).toEqual(['get_weather', JSON_TOOL]);
    expect(config.toolChoice).toEqual({ any: {} });
  });

  it('ignores JSON mode, with a warning, when tool_choice already forces a tool call', () => {
    const c = call({
      messages: ask,
      tools: [weather],
      tool_choice: 'required',
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(c.body ?? '').toolConfig.tools).toHaveLength(1);
    expect(c.warnings).toContain('response_format ignored: tool_choice forces a tool call');
  });

  it('sends nothing for response_format text', () => {
    expect(input({ messages: ask, response_format: { type: 'text' } }).toolConfig).toBeUndefined();
  });
});

describe('Claude on Bedrock: the beta flags a client sends that Bedrock does not document', () => {
  it('are named in one warning, 16 at most, the rest counted', () => {
    const flags = Array.from({ length: 20 }, (_, i) => `made-up-beta-${i}`);
    const forwarded = bedrockAdapter.forward?.({
      endpoint: 'messages',
      text: '{}',
      json: { model: 'claude', max_tokens: 8, messages: [] },
      stream: false,
      model: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      apiKey: undefined,
      requestId: 'req-betas',
      extraHeaders: undefined,
      provider: PROVIDER,
      clientHeaders: { 'anthropic-beta': [...flags, 'interleaved-thinking-2025-05-14'].join(',') },
    });
    expect(forwarded?.warnings).toEqual([
      `anthropic-beta ${flags.slice(0, 16).join(', ')} and 4 more dropped: Bedrock does not document them`,
    ]);
    expect(JSON.parse(String(forwarded?.body)).anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
  });
});
