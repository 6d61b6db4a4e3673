import { describe, expect, it } from 'vitest';
import { toolCallId } from '../../../../functions/core/providers/gemini/response.ts';
import { GeminiStreamTranslator } from '../../../../functions/core/providers/gemini/stream.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { legacyText } from '../legacy-text.ts';

const CTX = { requestId: 'req-7', model: 'gemini-2.5-flash', created: 1_700_000_000 };
type Json = Record<string, unknown>;

/** Gemini's SSE framing: `data: <json>` and a CRLF blank line, no terminating event. */
const sse = (events: Json[]): string => events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join('');
const textEvent = (text: string, extra: Json = {}, candidateExtra: Json = {}): Json => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...candidateExtra }],
  modelVersion: 'gemini-2.5-flash',
  responseId: 'resp-9',
  ...extra,
});
const usage = (prompt: number, candidates: number, more: Json = {}): Json => ({
  usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: candidates, ...more },
});

/** Feeds the bytes in pieces of `size` (1: every byte alone, so UTF-8 characters and CRLFs split too). */
function run(text: string, size: number): { out: string; chunks: Json[]; done: boolean } {
  const t = new GeminiStreamTranslator(CTX);
  const bytes = new TextEncoder().encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += size) {
    const piece = legacyText(t.push(bytes.subarray(i, i + size)));
    if (piece !== '') expect(piece.endsWith('\n\n')).toBe(true); // whole events only
    out += piece;
  }
  out += legacyText(t.end());
  const events = parseEvents(out);
  return {
    out,
    done: events.at(-1)?.data === '[DONE]',
    chunks: events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json),
  };
}
const choices = (c: Json): Json[] => (Array.isArray(c.choices) ? (c.choices as Json[]) : []);
const deltas = (chunks: Json[]): Json[] => chunks.flatMap((c) => choices(c).map((x) => x.delta as Json));
const contentOf = (chunks: Json[]): string =>
  deltas(chunks)
    .map((d) => (d.content as string) ?? '')
    .join('');
const finishes = (chunks: Json[]) =>
  chunks.flatMap((c) => choices(c).map((x) => x.finish_reason)).filter((f) => f !== null);

const TEXT = sse([
  textEvent('Grüße, ', usage(4, 2)),
  textEvent('世界 🌍', usage(4, 5)),
  textEvent('!', usage(4, 6, { thoughtsTokenCount: 3 }), { finishReason: 'STOP' }),
]);

describe('GeminiStreamTranslator', () => {
  it.each([1, 2, 3, 7, 64, 100_000])(
    'writes the same OpenAI stream whatever the chunk boundaries (%i bytes)',
    (size) => {
      const whole = run(TEXT, 100_000);
      expect(run(TEXT, size).out).toBe(whole.out);
    },
  );

  it('opens with the role, streams the text, finishes, then sends the latest usage and [DONE]', () => {
    const { chunks, done } = run(TEXT, 5);
    expect(done).toBe(true);
    expect(deltas(chunks)[0]).toEqual({ role: 'assistant', content: '' });
    expect(contentOf(chunks)).toBe('Grüße, 世界 🌍!');
    expect(finishes(chunks)).toEqual(['stop']);
    const last = chunks.at(-1) as Json;
    expect(last.choices).toEqual([]);
    // Cumulative: the last report, not a sum of the three.
    expect(last.usage).toMatchObject({
      prompt_tokens: 4,
      completion_tokens: 9,
      completion_tokens_details: { reasoning_tokens: 3 },
    });
    for (const c of chunks)
      expect(c).toMatchObject({ id: 'resp-9', model: 'gemini-2.5-flash', created: CTX.created });
  });

  it('streams each function call whole, indexed in order, and finishes with tool_calls', () => {
    const call = (name: string, args: Json, extra: Json = {}) => ({ functionCall: { name, args }, ...extra });
    const text = sse([
      {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [call('get_weather', { location: 'Paris' }, { thoughtSignature: 'c2ln' })],
            },
          },
        ],
      },
      {
        candidates: [
          { content: { role: 'model', parts: [call('get_time', { tz: 'CET' })] }, finishReason: 'STOP' },
        ],
        ...usage(8, 4),
      },
    ]);
    const { chunks, done } = run(text, 3);
    expect(done).toBe(true);
    const toolDeltas = deltas(chunks).filter((d) => d.tool_calls !== undefined);
    expect(toolDeltas).toEqual([
      {
        tool_calls: [
          {
            index: 0,
            id: toolCallId(undefined, 'req-7', 0, 'c2ln'),
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
          },
        ],
      },
      {
        tool_calls: [
          {
            index: 1,
            id: 'call_req7_1',
            type: 'function',
            function: { name: 'get_time', arguments: '{"tz":"CET"}' },
          },
        ],
      },
    ]);
    expect(finishes(chunks)).toEqual(['tool_calls']);
    expect(chunks[0]).toMatchObject({ id: 'chatcmpl-req-7', model: CTX.model });
  });

  it('leaves thought summaries out of the content deltas', () => {
    const text = sse([
      { candidates: [{ content: { role: 'model', parts: [{ text: 'thinking…', thought: true }] } }] },
      textEvent('answer', {}, { finishReason: 'STOP' }),
    ]);
    expect(contentOf(run(text, 4).chunks)).toBe('answer');
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'stop'],
  ])('maps the finish reason %s to %s', (reason, expected) => {
    expect(finishes(run(sse([textEvent('x', {}, { finishReason: reason })]), 9).chunks)).toEqual([expected]);
  });

  it('answers a blocked prompt with one content_filter finish, then usage and [DONE]', () => {
    const text = sse([
      {
        promptFeedback: { blockReason: 'SAFETY' },
        usageMetadata: { promptTokenCount: 6, totalTokenCount: 6 },
      },
    ]);
    const { chunks, done } = run(text, 10);
    expect(done).toBe(true);
    expect(finishes(chunks)).toEqual(['content_filter']);
    expect(contentOf(chunks)).toBe('');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 0 });
  });

  it('sends no [DONE] and no usage when the body ends before a finish reason (a cut stream)', () => {
    const { chunks, done, out } = run(sse([textEvent('partial', usage(3, 1))]), 4);
    expect(done).toBe(false);
    expect(contentOf(chunks)).toBe('partial');
    expect(out).not.toContain('"usage"');
  });

  it('ignores an event the cut left half-written', () => {
    const text = `${sse([textEvent('ok')])}data: {"candidates":[{"content":{"parts":[{"te`;
    const { chunks, done } = run(text, 6);
    expect(contentOf(chunks)).toBe('ok');
    expect(done).toBe(false);
  });

  it('still reads a last event whose blank line never came', () => {
    const text = `${sse([textEvent('a')])}data: ${JSON.stringify(textEvent('b', {}, { finishReason: 'STOP' }))}`;
    const { chunks, done } = run(text, 8);
    expect(contentOf(chunks)).toBe('ab');
    expect(done).toBe(true);
  });

  it('sends no usage chunk when Gemini reported none, but still [DONE]', () => {
    const { out, done } = run(sse([textEvent('x', {}, { finishReason: 'STOP' })]), 8);
    expect(done).toBe(true);
    expect(out).not.toContain('"usage"');
  });

  it('turns a mid-stream error event into an error event and emits nothing after it', () => {
    const text =
      sse([textEvent('half')]) +
      sse([{ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }]) +
      sse([textEvent('more', {}, { finishReason: 'STOP' })]);
    const { out, chunks, done } = run(text, 5);
    expect(done).toBe(false);
    expect(contentOf(chunks)).toBe('half');
    expect(chunks.at(-1)).toEqual({
      error: {
        message: 'The model is overloaded.',
        code: 'UNAVAILABLE',
        kind: 'server',
      },
    });
    expect(out).not.toContain('more');
  });
});
