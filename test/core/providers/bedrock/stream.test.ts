import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../../../functions/core/config/schema.ts';
import { bedrockAdapter } from '../../../../functions/core/providers/bedrock/adapter.ts';
import { legacyTranslator } from '../legacy-text.ts';

type Json = Record<string, unknown>;
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

function translator(body: Json = {}) {
  const call = bedrockAdapter.buildCall({
    op: 'chat',
    body: { messages: [{ role: 'user', content: 'hi' }], stream: true, ...body },
    model: MODEL,
    apiKey: undefined,
    requestId: 'r-7',
    extraHeaders: undefined,
    provider: { type: 'bedrock', region: 'us-east-1' } as ProviderConfig,
    epochMs: 1_700_000_000_000,
  });
  if (call.translator === undefined) throw new Error('no translator');
  return legacyTranslator(call.translator);
}

/** The transport's wire: one line of JSON per ConverseStream event, as the SDK yields it. */
const ndjson = (events: Json[]): Uint8Array =>
  new TextEncoder().encode(events.map((e) => `${JSON.stringify(e)}\n`).join(''));

/** Feeds the bytes in pieces of `size`; every push must return whole SSE events only. */
function feed(t: ReturnType<typeof translator>, bytes: Uint8Array, size: number): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += size) {
    const text = t.push(bytes.subarray(i, i + size));
    if (text !== '') expect(text).toMatch(/^data: [\s\S]*\n\n$/);
    out += text;
  }
  return out + t.end();
}

const dataOf = (sse: string): string[] =>
  sse
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => e.replace(/^data: /, ''));

const chunks = (sse: string): Json[] =>
  dataOf(sse)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as Json);

const deltas = (sse: string): Json[] =>
  chunks(sse).flatMap((c) => (c.choices as Json[]).map((ch) => ch.delta as Json));

/** The finish_reason of the last chunk that has a choice. */
const finishOf = (sse: string): unknown =>
  chunks(sse)
    .flatMap((c) => c.choices as Json[])
    .at(-1)?.finish_reason;

const usage = { inputTokens: 12, outputTokens: 4, totalTokens: 16 };
const textAnswer = [
  { messageStart: { role: 'assistant' } },
  { contentBlockDelta: { delta: { text: 'Grüße, ' }, contentBlockIndex: 0 } },
  { contentBlockDelta: { delta: { text: 'wörld 🌍!' }, contentBlockIndex: 0 } },
  { contentBlockStop: { contentBlockIndex: 0 } },
  { messageStop: { stopReason: 'end_turn' } },
  { metadata: { usage, metrics: { latencyMs: 300 } } },
];

describe('ConverseStream → OpenAI SSE', () => {
  it('gives the same events whatever the chunk boundaries, multi-byte characters split included', () => {
    const bytes = ndjson(textAnswer);
    const whole = feed(translator(), bytes, bytes.length);
    for (const size of [1, 2, 3, 5, 7, 13, 64]) expect(feed(translator(), bytes, size)).toBe(whole);
  });

  it('streams role, text deltas, the finish reason, then the usage chunk and [DONE] at metadata', () => {
    const sse = feed(translator(), ndjson(textAnswer), 9);
    expect(deltas(sse)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Grüße, ' },
      { content: 'wörld 🌍!' },
      {},
    ]);
    const all = chunks(sse);
    expect(
      all.every((c) => c.id === 'chatcmpl-r-7' && c.model === MODEL && c.created === 1_700_000_000),
    ).toBe(true);
    expect(finishOf(sse)).toBe('stop');
    expect(all.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
    });
    expect(dataOf(sse).at(-1)).toBe('[DONE]');
  });

  it('emits usage and [DONE] right at metadata, not waiting for the end of the body', () => {
    const t = translator();
    t.push(ndjson(textAnswer.slice(0, 5)));
    const atMetadata = t.push(ndjson(textAnswer.slice(5)));
    expect(atMetadata).toContain('"usage"');
    expect(atMetadata.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(t.end()).toBe('');
  });

  it('counts cache reads and writes into prompt_tokens, cache reads as cached_tokens', () => {
    const cached = {
      inputTokens: 3,
      outputTokens: 2,
      totalTokens: 505,
      cacheReadInputTokens: 400,
      cacheWriteInputTokens: 100,
    };
    const events = [...textAnswer.slice(0, 5), { metadata: { usage: cached, metrics: { latencyMs: 1 } } }];
    expect(chunks(feed(translator(), ndjson(events), 11)).at(-1)?.usage).toEqual({
      prompt_tokens: 503,
      completion_tokens: 2,
      total_tokens: 505,
      prompt_tokens_details: { cached_tokens: 400, cache_write_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('completes at the end of the body when messageStop came but no metadata (no usage chunk)', () => {
    const sse = feed(translator(), ndjson(textAnswer.slice(0, 5)), 4);
    expect(sse).not.toContain('"usage"');
    expect(dataOf(sse).at(-1)).toBe('[DONE]');
  });

  it('emits neither usage nor [DONE] when the stream was cut before messageStop', () => {
    const sse = feed(translator(), ndjson(textAnswer.slice(0, 3)), 6);
    expect(sse).toContain('wörld');
    expect(sse).not.toContain('[DONE]');
    expect(sse).not.toContain('"usage"');
  });

  it('does not complete on metadata alone: messageStop is the completion signal', () => {
    const events = [...textAnswer.slice(0, 3), textAnswer[5] as Json];
    expect(feed(translator(), ndjson(events), 8)).not.toContain('[DONE]');
  });

  it('turns an exception event into one error event and writes nothing after it', () => {
    const events = [
      ...textAnswer.slice(0, 2),
      { throttlingException: { message: 'Too many tokens, please wait before trying again.' } },
      ...textAnswer.slice(2),
    ];
    const t = translator();
    const sse = feed(t, ndjson(events), 5);
    const last = dataOf(sse).at(-1) ?? '';
    expect(JSON.parse(last)).toEqual({
      error: {
        message: 'Too many tokens, please wait before trying again.',
        type: 'throttlingException',
        kind: 'rate_limited',
      },
    });
    expect(sse).not.toContain('wörld');
    expect(sse).not.toContain('[DONE]');
    expect(t.push(ndjson(textAnswer))).toBe('');
  });

  it('reads modelStreamErrorException too', () => {
    const events = [
      textAnswer[0] as Json,
      { modelStreamErrorException: { message: 'model broke', originalStatusCode: 500 } },
    ];
    expect(JSON.parse(dataOf(feed(translator(), ndjson(events), 3)).at(-1) ?? '')).toMatchObject({
      error: { message: 'model broke', type: 'modelStreamErrorException' },
    });
  });
});

describe('ConverseStream tool use → OpenAI tool_calls deltas', () => {
  const toolAnswer = (name: string, stopReason = 'tool_use'): Json[] => [
    { messageStart: { role: 'assistant' } },
    { contentBlockDelta: { delta: { text: 'Let me check.' }, contentBlockIndex: 0 } },
    { contentBlockStop: { contentBlockIndex: 0 } },
    { contentBlockStart: { start: { toolUse: { toolUseId: 'tooluse_A', name } }, contentBlockIndex: 1 } },
    { contentBlockDelta: { delta: { toolUse: { input: '{"locat' } }, contentBlockIndex: 1 } },
    { contentBlockDelta: { delta: { toolUse: { input: 'ion":"Paris"}' } }, contentBlockIndex: 1 } },
    { contentBlockStop: { contentBlockIndex: 1 } },
    {
      contentBlockStart: {
        start: { toolUse: { toolUseId: 'tooluse_B', name: 'get_time' } },
        contentBlockIndex: 2,
      },
    },
    { contentBlockDelta: { delta: { toolUse: { input: '{}' } }, contentBlockIndex: 2 } },
    { contentBlockStop: { contentBlockIndex: 2 } },
    { messageStop: { stopReason } },
    { metadata: { usage, metrics: { latencyMs: 1 } } },
  ];

  it('opens each call with its id and name, then streams its arguments at its own index', () => {
    const sse = feed(translator({ tools: [] }), ndjson(toolAnswer('get_weather')), 10);
    expect(deltas(sse)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Let me check.' },
      {
        tool_calls: [
          { index: 0, id: 'tooluse_A', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"locat' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'ion":"Paris"}' } }] },
      {
        tool_calls: [
          { index: 1, id: 'tooluse_B', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
    ]);
    expect(finishOf(sse)).toBe('tool_calls');
  });

  it('in JSON mode streams the forced tool input as content and finishes with stop', () => {
    const events = [
      { messageStart: { role: 'assistant' } },
      { contentBlockStart: { start: { toolUse: { toolUseId: 't', name: 'reply' } }, contentBlockIndex: 0 } },
      { contentBlockDelta: { delta: { toolUse: { input: '{"answer":' } }, contentBlockIndex: 0 } },
      { contentBlockDelta: { delta: { toolUse: { input: '"echo: hi"}' } }, contentBlockIndex: 0 } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'tool_use' } },
      { metadata: { usage, metrics: { latencyMs: 1 } } },
    ];
    const t = translator({
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema: {} } },
    });
    const sse = feed(t, ndjson(events), 8);
    expect(deltas(sse)).toEqual([
      { role: 'assistant', content: '' },
      { content: '{"answer":' },
      { content: '"echo: hi"}' },
      {},
    ]);
    expect(finishOf(sse)).toBe('stop');
    expect(dataOf(sse).at(-1)).toBe('[DONE]');
  });

  it('in JSON mode drops a text preamble before the answer tool, so the content stays valid JSON', () => {
    const events = [
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { delta: { text: 'Here is the JSON:' }, contentBlockIndex: 0 } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { contentBlockStart: { start: { toolUse: { toolUseId: 't', name: 'reply' } }, contentBlockIndex: 1 } },
      { contentBlockDelta: { delta: { toolUse: { input: '{"a":1}' } }, contentBlockIndex: 1 } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      { messageStop: { stopReason: 'tool_use' } },
      { metadata: { usage, metrics: { latencyMs: 1 } } },
    ];
    const t = translator({
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema: {} } },
    });
    const content = deltas(feed(t, ndjson(events), 7))
      .map((d) => (typeof d.content === 'string' ? d.content : ''))
      .join('');
    expect(JSON.parse(content)).toEqual({ a: 1 });
  });

  it('in JSON mode sends the held text when no answer tool came', () => {
    const events = [
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { delta: { text: '{"a":' }, contentBlockIndex: 0 } },
      { contentBlockDelta: { delta: { text: '2}' }, contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'end_turn' } },
      { metadata: { usage, metrics: { latencyMs: 1 } } },
    ];
    const t = translator({ response_format: { type: 'json_object' } });
    const content = deltas(feed(t, ndjson(events), 5))
      .map((d) => (typeof d.content === 'string' ? d.content : ''))
      .join('');
    expect(content).toBe('{"a":2}');
  });
});
