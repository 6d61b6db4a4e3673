/**
 * When an OpenAI-compatible chat stream's answer starts (issue 16, stream-safe failover): only an event that
 * holds part of the answer starts it; a role chunk, a keep-alive comment, an empty delta are held, so a
 * failure after them still fails over. And the head's end: a body that ends before the answer started is the
 * attempt's failure, one that ends with the upstream's own end is an (empty) answer.
 */
import { describe, expect, it } from 'vitest';
import { ChatStreamReader, startsAnswer } from '../../../../functions/core/endpoints/openai/readers.ts';
import type { StreamPiece } from '../../../../functions/core/endpoints/types.ts';
import { readHead } from '../../../../functions/core/gateway/stream-head.ts';
import { NO_SECRETS } from '../../../../functions/core/secrets.ts';
import { failureOf, OpenedAttempt } from '../../../../functions/core/upstream/attempt.ts';
import { TimeoutReason } from '../../../../functions/core/upstream/reasons.ts';

const enc = new TextEncoder();
const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const ROLE = chunk({ role: 'assistant', content: '', refusal: null });
const ERROR = `data: ${JSON.stringify({ error: { message: 'upstream overloaded', type: 'server_error' } })}\n\n`;
const DONE = 'data: [DONE]\n\n';

const push = (r: ChatStreamReader, text: string): StreamPiece => r.push(enc.encode(text));

describe('ChatStreamReader: what starts the answer', () => {
  it.each([
    ['the role chunk', ROLE],
    ['a role chunk with content null', chunk({ role: 'assistant', content: null })],
    ['an empty delta', chunk({})],
    ['a keep-alive comment', ': OPENROUTER PROCESSING\n\n'],
    ['null tool calls and reasoning', chunk({ content: '', tool_calls: null, reasoning: null })],
    ['an empty tool_calls list', chunk({ content: '', tool_calls: [] })],
    ['an empty content part list', chunk({ content: [] })],
    [
      'spaced JSON without content',
      'data: {"choices": [{"delta": {"role": "assistant", "content": ""}}]}\n\n',
    ],
  ])('holds %s (not the start)', (_, event) => {
    const piece = push(new ChatStreamReader(), event);
    expect(piece.text).toBe(event);
    expect(piece.started).toBeUndefined();
  });

  it.each([
    ['content', chunk({ content: 'Hi' })],
    ['a refusal', chunk({ refusal: 'I cannot' })],
    ['reasoning_content', chunk({ reasoning_content: 'Let me think' })],
    ['reasoning (OpenRouter)', chunk({ reasoning: 'Let me think', content: '' })],
    ['a tool call', chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '' } }] })],
    ['a legacy function_call', chunk({ function_call: { name: 'f', arguments: '' } })],
    ['a finish reason (an empty answer)', chunk({}, 'stop')],
    ['spaced JSON content', 'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'],
    ['content as a list of parts', chunk({ content: [{ type: 'text', text: 'Hi' }] })],
    ['audio (no text token)', chunk({ content: null, audio: { id: 'au_1', data: 'UklGRg==' } })],
    ['images (OpenRouter)', chunk({ images: [{ type: 'image_url', image_url: { url: 'data:,' } }] })],
    ['the role chunk and content in one read', ROLE + chunk({ content: 'Hi' })],
  ])('starts at %s', (_, event) => {
    expect(push(new ChatStreamReader(), event).started).toBe(true);
  });

  it('starts at the first content event after a held role chunk, and says so on every piece after it', () => {
    const r = new ChatStreamReader();
    expect(push(r, ROLE).started).toBeUndefined();
    expect(push(r, chunk({ content: 'Hi' })).started).toBe(true);
    // Once started, nothing is looked at for it: an empty delta still says started.
    expect(push(r, chunk({})).started).toBe(true);
  });

  it('reads the role chunk then an error event as a failure before the start', () => {
    const r = new ChatStreamReader();
    const a = push(r, ROLE);
    const b = push(r, ERROR);
    expect(a.started).toBeUndefined();
    expect(b).toMatchObject({ text: '', failure: { kind: 'server', message: 'upstream overloaded' } });
    expect(b.started).toBeUndefined();
  });

  it('reads OpenRouter\'s error chunk (error beside choices that finish with "error") as a failure, not the start', () => {
    const r = new ChatStreamReader();
    push(r, ROLE);
    const err = `data: ${JSON.stringify({
      ...base,
      error: { code: 502, message: 'Provider returned error' },
      choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }],
    })}\n\n`;
    const piece = push(r, err);
    expect(piece).toMatchObject({ text: '', failure: { message: 'Provider returned error' } });
    expect(piece.started).toBeUndefined();
    expect(startsAnswer(chunk({ content: '' }, 'error'))).toBe(false);
  });

  it('reads the role chunk and an error event in one chunk as a failure before the start', () => {
    const piece = push(new ChatStreamReader(), ROLE + ERROR);
    expect(piece.failure).toMatchObject({ message: 'upstream overloaded' });
    expect(piece.started).toBeUndefined();
  });

  it('reads content then an error event in one chunk as a started answer that failed', () => {
    const piece = push(new ChatStreamReader(), ROLE + chunk({ content: 'Hi' }) + ERROR);
    expect(piece).toMatchObject({ started: true, failure: { message: 'upstream overloaded' } });
  });

  it('says done, not started, for a role chunk then [DONE] (nothing to fail over from)', () => {
    const piece = push(new ChatStreamReader(), ROLE + DONE);
    expect(piece.done).toBe(true);
    expect(piece.started).toBeUndefined();
  });

  it('starts at a finish chunk that also carries usage (the slow path)', () => {
    const r = new ChatStreamReader();
    push(r, ROLE);
    const usage = { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 };
    const last = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage })}\n\n`;
    expect(push(r, last + DONE)).toMatchObject({ started: true, done: true, usage: { inputTokens: 3 } });
  });

  it('does not start at the usage-only chunk', () => {
    const r = new ChatStreamReader();
    const usage = { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 };
    const piece = push(r, `${ROLE}data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    expect(piece.started).toBeUndefined();
    expect(piece.usageChunk).toBeDefined();
  });

  it('tells by a string test alone in the common cases', () => {
    expect(startsAnswer(ROLE)).toBe(false);
    expect(startsAnswer(chunk({ content: 'x' }))).toBe(true);
  });
});

/** An opened attempt over an in-memory body (the first part already read, as openAttempt leaves it). */
async function openedOver(parts: (string | { waitMs: number } | { cut: true })[]): Promise<OpenedAttempt> {
  const controller = new AbortController();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      if (typeof p === 'string') yield enc.encode(p);
      else if ('cut' in p) throw new TypeError('terminated');
      else
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, p.waitMs);
          controller.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(controller.signal.reason);
          });
        });
    }
  }
  const iterator = body();
  const response = {
    status: 200,
    headers: {},
    body: { [Symbol.asyncIterator]: () => iterator },
    dispose() {},
  };
  const first = await iterator.next();
  return new OpenedAttempt(response, iterator, first.done ? undefined : first.value, controller, 0, () => {});
}

const FROM = { provider: 'relay-a', secrets: NO_SECRETS };

describe('readHead over a chat stream', () => {
  it('holds the role chunk and accepts the head at the first content, both in its text', async () => {
    const head = await readHead(
      await openedOver([ROLE, chunk({ content: 'Hi' }), DONE]),
      new ChatStreamReader(),
      500,
      FROM,
    );
    expect(head.failure).toBeUndefined();
    expect(head.piece.text).toBe(ROLE + chunk({ content: 'Hi' }));
    expect(head.piece.started).toBe(true);
  });

  it('fails the attempt for a role chunk then an error event', async () => {
    const head = await readHead(await openedOver([ROLE, ERROR]), new ChatStreamReader(), 500, FROM);
    expect(head.failure).toMatchObject({ kind: 'server', status: 200 });
    expect(head.failure?.message).toContain('an error event before the answer started');
  });

  it('fails the attempt for a role chunk then a clean end without [DONE]', async () => {
    const head = await readHead(await openedOver([ROLE]), new ChatStreamReader(), 500, FROM);
    expect(head.failure).toMatchObject({
      kind: 'server',
      status: 200,
      detail: 'the stream ended before the answer started',
    });
    expect(head.failure?.message).toBe('relay-a failed (the stream ended before the answer started)');
  });

  it('fails the attempt for an empty body', async () => {
    const head = await readHead(await openedOver([]), new ChatStreamReader(), 500, FROM);
    expect(head.failure).toMatchObject({ kind: 'server' });
  });

  it('accepts a role chunk then [DONE] (the upstream said the answer is complete)', async () => {
    const head = await readHead(await openedOver([ROLE, DONE]), new ChatStreamReader(), 500, FROM);
    expect(head.failure).toBeUndefined();
    expect(head.piece.done).toBe(true);
  });

  it('accepts an empty answer: role chunk, finish chunk, [DONE]', async () => {
    const head = await readHead(
      await openedOver([ROLE, chunk({}, 'stop'), DONE]),
      new ChatStreamReader(),
      500,
      FROM,
    );
    expect(head.failure).toBeUndefined();
    expect(head.piece.started).toBe(true);
  });

  it('rejects (for the attempt loop to classify) when the connection is cut after the role chunk', async () => {
    const opened = await openedOver([ROLE, { cut: true }]);
    const err = await readHead(opened, new ChatStreamReader(), 500, FROM).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    // What execute.ts's acceptHead makes of it: an attempt failure that fails over.
    expect(failureOf(err, opened.controller.signal, FROM)).toMatchObject({
      failure: { kind: 'unreachable', detail: 'terminated' },
    });
  });

  it('rejects with the idle timeout when the upstream goes quiet after the role chunk', async () => {
    const opened = await openedOver([ROLE, { waitMs: 2000 }, chunk({ content: 'late' })]);
    const t0 = performance.now();
    const err = await readHead(opened, new ChatStreamReader(), 50, FROM).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(opened.controller.signal.reason).toBeInstanceOf(TimeoutReason);
    expect(failureOf(err, opened.controller.signal, FROM)).toMatchObject({ failure: { kind: 'timeout' } });
  });
});
