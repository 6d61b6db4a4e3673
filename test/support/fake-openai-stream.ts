// Chat-completion answer building and SSE streaming for the fake OpenAI upstream
// (see fake-openai.ts). Kept free of per-request logging: the bench runs through it.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FakeBehaviour } from './fake-openai.ts';

export type Json = Record<string, unknown>;
export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Per-request state: the single pending timer (delay / drip / stall) and whether the client went away. */
export interface ReqState {
  closed: boolean;
  timer: NodeJS.Timeout | undefined;
}

export const FINGERPRINT = 'fp_f4ke0penai';
export const hexId = (): string => randomUUID().replaceAll('-', '');

const WORD = /\S+/g;
export const countWords = (s: string): number => s.match(WORD)?.length ?? 0;

/** Message content as text: a string, or the text parts joined with a single space. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const p of content) {
    if (isRecord(p) && typeof p.text === 'string') parts.push(p.text);
  }
  return parts.join(' ');
}

/** Split into pieces of `size` UTF-16 units, never splitting a surrogate pair. */
export function split(s: string, size: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let end = Math.min(i + size, s.length);
    const last = s.charCodeAt(end - 1);
    if (end < s.length && last >= 0xd800 && last <= 0xdbff) end++;
    out.push(s.slice(i, end));
    i = end;
  }
  return out;
}

export function usageObject(prompt: number, completion: number, cached = 0, reasoning = 0): Json {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

/** What the fake decided to answer for one chat request. */
export interface ChatAnswer {
  id: string;
  created: number;
  model: string;
  n: number;
  /** Text content, or null when answering with a tool call. */
  content: string | null;
  tool: { name: string; arguments: string } | undefined;
  usage: Json | null;
}

const callId = (): string => `call_${hexId().slice(0, 24)}`;

export function chatCompletionBody(a: ChatAnswer): string {
  const choices: Json[] = [];
  for (let index = 0; index < a.n; index++) {
    const message: Json = { role: 'assistant', content: a.content, refusal: null };
    if (a.tool) {
      message.tool_calls = [
        { id: callId(), type: 'function', function: { name: a.tool.name, arguments: a.tool.arguments } },
      ];
    }
    choices.push({ index, message, logprobs: null, finish_reason: a.tool ? 'tool_calls' : 'stop' });
  }
  const out: Json = {
    id: a.id,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    choices,
  };
  if (a.usage) out.usage = a.usage;
  out.system_fingerprint = FINGERPRINT;
  return JSON.stringify(out);
}

/**
 * The SSE frames (`data: {json}\n\n`) of a streamed answer, without the final `data: [DONE]`.
 * Per choice: role chunk, [tool-call header chunk], content / argument fragments, finish chunk;
 * then the usage chunk (`choices: []`) only if `withUsage` — in which case every earlier chunk
 * carries `"usage": null`, as OpenAI does.
 */
export function chatChunkFrames(a: ChatAnswer, chunkSize: number, withUsage: boolean): string[] {
  const frames: string[] = [];
  const frame = (choices: Json[], usage: Json | null): void => {
    const o: Json = {
      id: a.id,
      object: 'chat.completion.chunk',
      created: a.created,
      model: a.model,
      system_fingerprint: FINGERPRINT,
      choices,
    };
    if (withUsage) o.usage = usage;
    frames.push(`data: ${JSON.stringify(o)}\n\n`);
  };
  const choice = (index: number, delta: Json, finish: string | null = null): Json[] => [
    { index, delta, logprobs: null, finish_reason: finish },
  ];
  for (let i = 0; i < a.n; i++) {
    if (a.tool) {
      frame(choice(i, { role: 'assistant', content: null }), null);
      const header = {
        index: 0,
        id: callId(),
        type: 'function',
        function: { name: a.tool.name, arguments: '' },
      };
      frame(choice(i, { tool_calls: [header] }), null);
      for (const part of split(a.tool.arguments, chunkSize)) {
        frame(choice(i, { tool_calls: [{ index: 0, function: { arguments: part } }] }), null);
      }
      frame(choice(i, {}, 'tool_calls'), null);
    } else {
      frame(choice(i, { role: 'assistant', content: '' }), null);
      for (const part of split(a.content ?? '', chunkSize)) frame(choice(i, { content: part }), null);
      frame(choice(i, {}, 'stop'), null);
    }
  }
  if (withUsage && a.usage) frame([], a.usage);
  return frames;
}

/** End the connection mid-response: flush what was written, then drop the socket (no [DONE], no terminating chunk). */
export function cutConnection(res: ServerResponse): void {
  const s = res.socket;
  if (!s) return;
  if (!res.headersSent) res.flushHeaders();
  s.end(() => s.destroy());
}

/**
 * Write SSE frames with the behaviour's fault injection. Chunk numbering for
 * `cutAfterChunks` / `stallAfterChunks` counts every `data:` frame except `[DONE]`,
 * and the first (role) chunk is chunk 1: `cutAfterChunks: 1` delivers only the role
 * chunk, `cutAfterChunks: 0` delivers only the headers. A cut at or beyond the frame
 * count still suppresses `[DONE]`. Every timer lives in `st.timer` and is cleared by
 * the caller's `res.on('close')`, so an aborted client never leaves work scheduled.
 */
export function writeStream(
  res: ServerResponse,
  st: ReqState,
  headers: Record<string, string>,
  frames: string[],
  b: FakeBehaviour,
): void {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  res.writeHead(200, headers);
  res.flushHeaders();
  const gap = b.chunkDelayMs ?? 0;
  const cut = b.cutAfterChunks === undefined ? undefined : Math.min(b.cutAfterChunks, frames.length);
  let stall = b.stallAfterChunks;
  let i = 0;
  const step = (): void => {
    st.timer = undefined;
    while (!st.closed) {
      if (i === cut) {
        cutConnection(res);
        return;
      }
      if (i === stall) {
        stall = undefined;
        if (b.stallMs !== undefined) st.timer = setTimeout(step, b.stallMs);
        return;
      }
      const f = frames[i++];
      if (f === undefined) {
        if (b.holdOpenAfterDone === true) res.write('data: [DONE]\n\n');
        else res.end('data: [DONE]\n\n');
        return;
      }
      res.write(f);
      if (gap > 0) {
        st.timer = setTimeout(step, gap);
        return;
      }
    }
  };
  step();
}
