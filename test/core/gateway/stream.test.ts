/**
 * The stream relay on its own: an in-memory upstream body (a real async iterator of byte chunks) and the real
 * relay, so each rule of a stream is checked without sockets.
 */
import { describe, expect, it } from 'vitest';
import { chatSpec } from '../../../functions/core/endpoints/chat/spec.ts';
import { ChatStreamReader } from '../../../functions/core/endpoints/openai/readers.ts';
import { relay, relayStream, type StreamOutcome } from '../../../functions/core/gateway/stream.ts';
import type { Usage } from '../../../functions/core/providers/types.ts';
import { NO_SECRETS } from '../../../functions/core/secrets.ts';
import { OpenedAttempt } from '../../../functions/core/upstream/attempt.ts';

const enc = new TextEncoder();

/** An upstream body that yields `parts` (with optional waits) and honours the attempt's abort signal. */
function opened(parts: (string | { waitMs: number })[]): { attempt: OpenedAttempt; released: () => boolean } {
  const controller = new AbortController();
  let released = false;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      if (typeof p === 'string') yield enc.encode(p);
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
    dispose: () => {},
  };
  const attempt = new OpenedAttempt(response, iterator, undefined, controller, 0, () => {
    released = true;
  });
  return { attempt, released: () => released };
}

interface RunOptions {
  forwardUsage?: boolean;
  costOf?: (u: Usage) => number | undefined;
  drainOnClientGone?: boolean;
  stopAfter?: number;
}

/** The chat stream's reader over the upstream, the first chunk read as the attempt's head. */
async function run(parts: (string | { waitMs: number })[], idleMs = 1000, opts: RunOptions = {}) {
  const { attempt } = opened(parts);
  const reader = new ChatStreamReader();
  const first = await attempt.iterator.next();
  const head = first.done
    ? { piece: reader.end(), ended: true, reader }
    : { piece: reader.push(first.value), ended: false, reader };
  const costOf = opts.costOf ?? (() => undefined);
  let outcome: StreamOutcome | undefined;
  const out: string[] = [];
  for await (const text of relayStream({
    provider: 'relay-a',
    secrets: NO_SECRETS,
    opened: attempt,
    head,
    idleMs,
    now: () => performance.now(),
    errorEvent: (err) => chatSpec.errorEvent(err, 'req-1'),
    usageEvent:
      (opts.forwardUsage ?? true)
        ? (text, chunk, u) => chatSpec.withUsageEvent(text, chunk, costOf(u))
        : undefined,
    drainOnClientGone: opts.drainOnClientGone ?? false,
    onEnd: (o) => {
      outcome = o;
    },
  })) {
    out.push(text);
    if (opts.stopAfter !== undefined && out.length >= opts.stopAfter) break; // the client left
  }
  return { out, text: out.join(''), outcome: outcome! };
}

const chunk = (content: string) => `data: {"choices":[{"index":0,"delta":{"content":"${content}"}}]}\n\n`;

describe('relayStream', () => {
  it('forwards whole events as they complete, holding back a split one', async () => {
    const r = await run([chunk('a') + chunk('b').slice(0, 10), chunk('b').slice(10), 'data: [DONE]\n\n']);
    expect(r.out).toEqual([chunk('a'), chunk('b'), 'data: [DONE]\n\n']);
    expect(r.outcome).toMatchObject({ clientGone: false });
    expect(r.outcome.error).toBeUndefined();
  });

  it('takes the latest usage report, never a sum', async () => {
    const usage = (p: number, c: number) =>
      `data: {"choices":[],"usage":{"prompt_tokens":${p},"completion_tokens":${c}}}\n\n`;
    const r = await run([chunk('a'), usage(5, 1), usage(5, 3), 'data: [DONE]\n\n']);
    expect(r.outcome.usage).toMatchObject({ inputTokens: 5, outputTokens: 3 });
  });

  const usageChunk = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n';

  it('drops the usage chunk the gateway asked for when the client did not, and still reads it', async () => {
    const r = await run([chunk('a'), usageChunk, 'data: [DONE]\n\n'], 1000, { forwardUsage: false });
    expect(r.text).not.toContain('"usage"');
    expect(r.text).toContain('[DONE]');
    expect(r.outcome.usage).toMatchObject({ inputTokens: 7, outputTokens: 2 });
  });

  it("adds the request's cost to the usage chunk a client asked for", async () => {
    const r = await run([chunk('a'), usageChunk, 'data: [DONE]\n\n'], 1000, {
      forwardUsage: true,
      costOf: (u) => u.inputTokens / 1000,
    });
    const ev = r.out.flatMap((t) => t.split('\n\n')).find((t) => t.includes('"usage"'));
    expect(JSON.parse(ev!.replace(/^data: /, '')).usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 2,
      cost: 0.007,
    });
  });

  it('keeps the forwarded events and the completion id for an estimate when there is no usage', async () => {
    const first = 'data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n';
    const r = await run([first, chunk('b'), 'data: [DONE]\n\n']);
    expect(r.outcome.usage).toBeUndefined();
    expect(r.outcome.upstreamId).toBe('chatcmpl-9');
    expect(r.outcome.forwarded).toBe(r.text);
    expect(r.outcome.totalChars).toBe(r.text.length);
  });

  it('drains the upstream after the client left, to learn the usage it reports at the end', async () => {
    const r = await run(
      [chunk('a'), chunk('b'), { waitMs: 20 }, chunk('c'), usageChunk, 'data: [DONE]\n\n'],
      1000,
      {
        drainOnClientGone: true,
        stopAfter: 1,
      },
    );
    expect(r.out).toEqual([chunk('a')]);
    expect(r.outcome.clientGone).toBe(true);
    expect(r.outcome.usage).toMatchObject({ inputTokens: 7, outputTokens: 2 });
  });

  it('stops at once when the client leaves and draining is off', async () => {
    const r = await run([chunk('a'), chunk('b'), { waitMs: 20 }, usageChunk, 'data: [DONE]\n\n'], 1000, {
      drainOnClientGone: false,
      stopAfter: 1,
    });
    expect(r.outcome.clientGone).toBe(true);
    expect(r.outcome.usage).toBeUndefined();
    expect(r.outcome.forwarded).toBe(chunk('a'));
  });

  it('translates an upstream error event into ours (its text only in the log) and forwards nothing after it', async () => {
    const upstreamError =
      'data: {"error":{"message":"overloaded, key sk-live-abcdef123456","type":"server_error"}}\n\n';
    const r = await run([chunk('a'), upstreamError + chunk('late'), 'data: [DONE]\n\n']);
    expect(r.out[0]).toBe(chunk('a'));
    expect(r.text).not.toContain('[DONE]');
    expect(r.text).not.toContain('late');
    expect(r.text).not.toContain('sk-live-abcdef123456');
    const last = JSON.parse(r.out.at(-1)!.replace(/^data: /, ''));
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'upstream_server_error' });
    // The upstream's words go to the log line (masked), never to the client: ours name the provider.
    expect(last.error.message).toBe('Upstream failed mid-stream: relay-a sent an error event.');
    expect(r.outcome.upstreamError).toBe('overloaded, key sk-[redacted]');
    expect(r.outcome.error?.code).toBe('upstream_server_error');
  });

  it('ends with an error event when the upstream closes before [DONE]', async () => {
    const r = await run([chunk('a'), chunk('b')]);
    expect(r.text).not.toContain('[DONE]');
    expect(r.out.at(-1)).toMatch(/^data: \{"error":\{.*"code":"upstream_server_error"/);
  });

  it('closes an event that ends with a single newline instead of dropping it', async () => {
    const r = await run([chunk('a'), 'data: [DONE]\n']);
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(r.outcome.error).toBeUndefined();
  });

  it('ends with an upstream_timeout event when the upstream goes quiet for idleMs', async () => {
    const r = await run([chunk('a'), { waitMs: 2000 }, chunk('never')], 50);
    expect(r.text).not.toContain('never');
    expect(r.out.at(-1)).toMatch(/"code":"upstream_timeout"/);
    expect(r.outcome.error?.status).toBe(504);
  });
});

describe('relay().cancel', () => {
  it('releases the upstream and reports the request when the host never reads the body', () => {
    const { attempt, released } = opened([chunk('a')]);
    let outcome: StreamOutcome | undefined;
    const reader = new ChatStreamReader();
    const r = relay({
      provider: 'relay-a',
      secrets: NO_SECRETS,
      opened: attempt,
      head: { piece: { text: '' }, ended: false, reader },
      idleMs: 1000,
      now: () => 0,
      errorEvent: (err) => chatSpec.errorEvent(err, 'req-1'),
      usageEvent: undefined,
      drainOnClientGone: false,
      onEnd: (o) => (outcome = o),
    });
    r.cancel();
    expect(released()).toBe(true);
    expect(attempt.controller.signal.aborted).toBe(true);
    expect(outcome).toMatchObject({ clientGone: true });
  });
});
