import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../../functions/core/providers/anthropic/adapter.ts';
import { openAIUsage } from '../../../../functions/core/providers/openai/adapter.ts';
import { legacyTranslator } from '../legacy-text.ts';

type Json = Record<string, unknown>;

function translator(body: Json = {}) {
  const c = anthropicAdapter.buildCall({
    op: 'chat',
    body: { model: 'alias', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body },
    model: 'claude-sonnet-4-5',
    apiKey: 'k',
    requestId: 'r',
    extraHeaders: undefined,
    epochMs: 1_700_000_000_000,
  });
  if (c.translator === undefined) throw new Error('no translator');
  return legacyTranslator(c.translator);
}

const ev = (data: Json): string => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
const start = (usage: Json | null = { input_tokens: 25, output_tokens: 1 }): string => {
  const message: Json = {
    id: 'msg_01XyZ',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [],
    stop_reason: null,
    stop_sequence: null,
  };
  if (usage !== null) message.usage = usage;
  return ev({ type: 'message_start', message });
};
const blockStart = (index: number, content_block: Json) =>
  ev({ type: 'content_block_start', index, content_block });
const text = (index: number, t: string) =>
  ev({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } });
const json = (index: number, partial_json: string) =>
  ev({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
const stop = (index: number) => ev({ type: 'content_block_stop', index });
const messageDelta = (stop_reason: string | null, usage?: Json) =>
  ev({ type: 'message_delta', delta: { stop_reason, stop_sequence: null }, ...(usage ? { usage } : {}) });
const messageStop = ev({ type: 'message_stop' });
const ping = ev({ type: 'ping' });

/** Feeds the transcript's bytes in pieces of `size` (0: one piece); checks every output is whole events. */
function run(transcript: string, size = 0, body: Json = {}): string {
  const t = translator(body);
  const bytes = new TextEncoder().encode(transcript);
  const step = size === 0 ? bytes.length : size;
  let out = '';
  for (let i = 0; i < bytes.length; i += step) {
    const piece = t.push(bytes.subarray(i, i + step));
    if (piece !== '') expect(piece).toMatch(/^(data: [^\n]+\n\n)+$/);
    out += piece;
  }
  return out + t.end();
}

const datas = (out: string): string[] =>
  out
    .split('\n\n')
    .filter((b) => b !== '')
    .map((b) => b.replace(/^data: /, ''));
const chunks = (out: string): Json[] =>
  datas(out)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
const deltas = (out: string): Json[] =>
  chunks(out).flatMap((c) => (c.choices as Json[]).map((ch) => ch.delta as Json));
const contentOf = (out: string): string =>
  deltas(out)
    .map((d) => (typeof d.content === 'string' ? d.content : ''))
    .join('');
const finishes = (out: string): unknown[] =>
  chunks(out)
    .flatMap((c) => (c.choices as Json[]).map((ch) => ch.finish_reason))
    .filter((f) => f !== null);

const TEXT_STREAM =
  start() +
  blockStart(0, { type: 'text', text: '' }) +
  ping +
  text(0, 'Héllo ') +
  text(0, 'wörld 👋') +
  stop(0) +
  messageDelta('end_turn', { output_tokens: 15 }) +
  messageStop;

describe('AnthropicStreamTranslator: text', () => {
  it('sends the role chunk, the text deltas, the finish chunk, the usage chunk and [DONE]', () => {
    const out = run(TEXT_STREAM);
    const all = chunks(out);
    expect(all[0]).toMatchObject({
      id: 'msg_01XyZ',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5-20250929',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    expect(contentOf(out)).toBe('Héllo wörld 👋');
    expect(finishes(out)).toEqual(['stop']);
    expect(all.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 },
    });
    expect(datas(out).at(-1)).toBe('[DONE]');
  });

  it('gives the same events whatever the chunk boundaries, inside UTF-8 characters included', () => {
    const whole = run(TEXT_STREAM);
    for (const size of [1, 2, 3, 5, 7, 13, 64]) expect(run(TEXT_STREAM, size)).toBe(whole);
  });

  it('reads CRLF-separated events', () => {
    expect(run(TEXT_STREAM.replaceAll('\n', '\r\n'), 3)).toBe(run(TEXT_STREAM));
  });

  it('maps max_tokens to finish_reason length', () => {
    const out = run(
      start() +
        blockStart(0, { type: 'text', text: '' }) +
        text(0, 'cut') +
        messageDelta('max_tokens') +
        messageStop,
    );
    expect(finishes(out)).toEqual(['length']);
  });

  it('leaves thinking blocks out', () => {
    const out = run(
      start() +
        blockStart(0, { type: 'thinking', thinking: '' }) +
        ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }) +
        ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } }) +
        stop(0) +
        blockStart(1, { type: 'text', text: '' }) +
        text(1, '42') +
        stop(1) +
        messageDelta('end_turn') +
        messageStop,
      4,
    );
    expect(contentOf(out)).toBe('42');
    expect(out).not.toContain('hmm');
  });
});

describe('AnthropicStreamTranslator: tools', () => {
  const TOOLS =
    start() +
    blockStart(0, { type: 'text', text: '' }) +
    text(0, 'Checking.') +
    stop(0) +
    blockStart(1, { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: {} }) +
    json(1, '') +
    json(1, '{"location":') +
    json(1, ' "Paris"}') +
    stop(1) +
    blockStart(2, { type: 'tool_use', id: 'toolu_B', name: 'get_time', input: {} }) +
    json(2, '{}') +
    stop(2) +
    messageDelta('tool_use', { output_tokens: 40 }) +
    messageStop;

  it('numbers tool calls from 0, announces each with id and name, then streams its arguments', () => {
    const out = run(TOOLS, 5);
    const calls = deltas(out).flatMap((d) => (Array.isArray(d.tool_calls) ? (d.tool_calls as Json[]) : []));
    expect(calls[0]).toEqual({
      index: 0,
      id: 'toolu_A',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    const args = (i: number) =>
      calls
        .filter((c) => c.index === i)
        .map((c) => (c.function as Json).arguments)
        .join('');
    expect(args(0)).toBe('{"location": "Paris"}');
    expect(calls.find((c) => c.index === 1)).toMatchObject({ id: 'toolu_B', function: { name: 'get_time' } });
    expect(args(1)).toBe('{}');
    expect(contentOf(out)).toBe('Checking.');
    expect(finishes(out)).toEqual(['tool_calls']);
  });
});

describe('AnthropicStreamTranslator: JSON mode', () => {
  const rf = {
    response_format: { type: 'json_schema', json_schema: { name: 'reply', schema: { type: 'object' } } },
  };
  const answerTool = (before = '') =>
    start() +
    before +
    blockStart(1, { type: 'tool_use', id: 'toolu_J', name: 'reply', input: {} }) +
    json(1, '') +
    json(1, '{"answer": ') +
    json(1, '"echo: hi"}') +
    stop(1) +
    messageDelta('tool_use', { output_tokens: 9 }) +
    messageStop;

  it("streams the answer tool's input as content deltas and finishes with stop", () => {
    const out = run(answerTool(), 3, rf);
    expect(contentOf(out)).toBe('{"answer": "echo: hi"}');
    expect(out).not.toContain('tool_calls');
    expect(finishes(out)).toEqual(['stop']);
  });

  it('drops text that came before the answer tool (it would break the JSON)', () => {
    const before = blockStart(0, { type: 'text', text: '' }) + text(0, 'Sure! ') + stop(0);
    expect(contentOf(run(answerTool(before), 0, rf))).toBe('{"answer": "echo: hi"}');
  });

  it('sends the text when the model answered without the tool', () => {
    const out = run(
      start() +
        blockStart(0, { type: 'text', text: '' }) +
        text(0, 'I cannot.') +
        stop(0) +
        messageDelta('end_turn') +
        messageStop,
      0,
      rf,
    );
    expect(contentOf(out)).toBe('I cannot.');
    expect(finishes(out)).toEqual(['stop']);
  });
});

describe('AnthropicStreamTranslator: usage', () => {
  it('takes the latest of each cumulative count, with message_start input and cache counts', () => {
    const out = run(
      start({
        input_tokens: 10,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 4,
        output_tokens: 1,
      }) +
        blockStart(0, { type: 'text', text: '' }) +
        text(0, 'ok') +
        messageDelta(null, { output_tokens: 3 }) +
        messageDelta('end_turn', { output_tokens: 9, input_tokens: 12 }) +
        messageStop,
    );
    expect(finishes(out)).toEqual(['stop']);
    const usage = chunks(out).at(-1)?.usage;
    expect(usage).toEqual({
      prompt_tokens: 116,
      completion_tokens: 9,
      total_tokens: 125,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(openAIUsage(chunks(out).at(-1))).toEqual({
      inputTokens: 116,
      outputTokens: 9,
      cachedInputTokens: 100,
      reasoningTokens: 0,
      cacheWriteTokens: 4,
    });
  });

  it('sends no usage chunk when Anthropic reported no usage, and still ends with [DONE]', () => {
    const out = run(
      start(null) +
        blockStart(0, { type: 'text', text: '' }) +
        text(0, 'ok') +
        messageDelta('end_turn') +
        messageStop,
    );
    expect(out).not.toContain('"usage"');
    expect(datas(out).at(-1)).toBe('[DONE]');
  });
});

describe('AnthropicStreamTranslator: errors and ends', () => {
  it('turns a mid-stream error event into an OpenAI error event and sends nothing after it', () => {
    const error = ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const t = translator();
    const out = t.push(
      new TextEncoder().encode(
        start() +
          blockStart(0, { type: 'text', text: '' }) +
          text(0, 'par') +
          error +
          text(0, 'tial') +
          messageStop,
      ),
    );
    expect(datas(out).at(-1)).toBe(
      '{"error":{"message":"Overloaded","type":"overloaded_error","kind":"server"}}',
    );
    expect(contentOf(out.slice(0, out.lastIndexOf('data: {"error"')))).toBe('par');
    expect(out).not.toContain('[DONE]');
    expect(t.push(new TextEncoder().encode(messageStop))).toBe('');
    expect(t.end()).toBe('');
    // The gateway reads the event back through parseError.
    expect(anthropicAdapter.parseError(200, datas(out).at(-1) ?? '')).toMatchObject({
      message: 'Overloaded',
      type: 'overloaded_error',
      code: 'overloaded_error',
    });
  });

  it('ends a cut stream with neither a usage chunk nor [DONE], so the gateway reports it', () => {
    const cut =
      start() +
      blockStart(0, { type: 'text', text: '' }) +
      text(0, 'half') +
      'event: content_block_delta\ndata: {"ty';
    const out = run(cut, 6);
    expect(contentOf(out)).toBe('half');
    expect(out).not.toContain('[DONE]');
    expect(out).not.toContain('"usage"');
    expect(finishes(out)).toEqual([]);
  });

  it('completes when the body ends right after message_stop without its blank line', () => {
    const out = run(TEXT_STREAM.slice(0, -2));
    expect(datas(out).at(-1)).toBe('[DONE]');
  });
});
