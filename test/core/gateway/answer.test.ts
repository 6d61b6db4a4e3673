/**
 * A non-stream answer is checked before it is served: an answer of its endpoint passes with its usage read
 * (without parsing the whole body), anything else is an attempt failure whose client message is the
 * gateway's own and whose upstream text goes to the log detail only.
 */
import { describe, expect, it } from 'vitest';
import { readOpenAIAnswer } from '../../../functions/core/endpoints/openai/readers.ts';
import { acceptAnswer } from '../../../functions/core/gateway/answer.ts';
import { AttemptError } from '../../../functions/core/routing/failure.ts';
import { SecretMasker } from '../../../functions/core/secrets.ts';
import type { OpenedAttempt } from '../../../functions/core/upstream/attempt.ts';

const KEY = 'QmVhcmVyVG9rZW5Gb3JSZWxheUNv9f8e';
const secrets = new SecretMasker();
secrets.add([KEY]);
const from = { provider: 'relay-a', secrets };
const chat = (text: string) => readOpenAIAnswer(text, 'choices');
const embeddings = (text: string) => readOpenAIAnswer(text, 'data');

/** Only `first` is read: the whole non-stream body. */
const opened = (text: string) => ({ first: new TextEncoder().encode(text) }) as unknown as OpenedAttempt;

function failure(f: () => unknown): AttemptError {
  try {
    f();
  } catch (err) {
    if (err instanceof AttemptError) return err;
    throw err;
  }
  throw new Error('expected an attempt failure');
}

describe('acceptAnswer', () => {
  it('passes a chat completion with its usage and id, the same bytes', () => {
    const text = ` {"id":"chatcmpl-9","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n`;
    const a = acceptAnswer(opened(text), chat, from);
    expect(a.text).toBe(text);
    expect(a.usage).toMatchObject({ inputTokens: 3, outputTokens: 1 });
    expect(a.upstreamId).toBe('chatcmpl-9');
  });

  it('passes an embeddings list, and refuses a chat completion where embeddings were asked', () => {
    expect(acceptAnswer(opened('{"object":"list","data":[]}'), embeddings, from).usage).toBeUndefined();
    const f = failure(() => acceptAnswer(opened('{"choices":[]}'), embeddings, from));
    expect(f.failure).toMatchObject({
      kind: 'server',
      message: 'relay-a answered with JSON that is not an answer (no "data" list)',
    });
  });

  it('reads an error object in a 200 as that error', () => {
    const body = JSON.stringify({ error: { message: `quota for ${KEY}`, type: 'insufficient_quota' } });
    const f = failure(() => acceptAnswer(opened(body), chat, from));
    expect(f.failure.kind).toBe('balance');
    expect(f.failure.message).not.toContain('quota for');
    expect(f.failure.detail).toBe('quota for …9f8e');
  });

  it("keeps a translator's parse error (which quotes the upstream's text) out of the client's message", () => {
    const translated = (text: string) => ({ text: JSON.stringify(JSON.parse(text)) });
    const page = `<!DOCTYPE html><p>${KEY}</p>`;
    const f = failure(() => acceptAnswer(opened(page), translated, from));
    expect(f.failure.message).toBe('relay-a answered with an answer that could not be read');
    expect(f.failure.detail).toContain('<!DOCTYPE html>');
    expect(f.failure.detail).not.toContain(KEY);
  });

  it('masks a key in the upstream id', () => {
    const text = `{"id":"${KEY}","choices":[]}`;
    expect(acceptAnswer(opened(text), chat, from).upstreamId).toBe('…9f8e');
  });
});
