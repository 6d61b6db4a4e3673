/**
 * The validator's client of an OpenAI-compatible API: raw HTTP (the core's undici wire), so it sees what the
 * official SDK hides — every status and header, each network read of a stream with its arrival time, the
 * usage a relay reports — and it enforces the run's caps: a call that would pass the request or spend cap
 * throws {@link BudgetExhausted} before anything is sent.
 */
import { performance } from 'node:perf_hooks';
import { concat, utf8 } from '../../core/bytes.ts';
import { isRecord, type Json } from '../../core/json.ts';
import type { HttpClient } from '../../core/providers/types.ts';
import { parseEvents, SseDecoder } from '../../core/sse/splitter.ts';
import type { TokenCounter } from '../../core/usage/types.ts';
import { deltaOf, failed, flatHeaders } from './client-wire.ts';
import type { Limits, Subject } from './types.ts';

export class BudgetExhausted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BudgetExhausted';
  }
}

export interface CallOptions {
  /** Another key than the subject's (null: no Authorization header at all). */
  readonly key?: string | null;
  readonly timeoutMs?: number;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface HttpOutcome {
  /** null: no answer (refused, reset, DNS, or the client's timeout). */
  readonly status: number | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown;
  readonly latencyMs: number;
  readonly timedOut: boolean;
  readonly networkError?: string;
  /** `usage` of the answer (the final usage chunk of a stream). */
  readonly usage: Usage | undefined;
}

export interface StreamRead {
  /** ms since the request was sent. */
  readonly atMs: number;
  readonly bytes: number;
  /** Content (or tool-argument) deltas this read completed. */
  readonly deltas: number;
}

export interface StreamOutcome extends HttpOutcome {
  /** Every network read of the body. */
  readonly reads: readonly StreamRead[];
  /** `data:` payloads in order (without `[DONE]`). */
  readonly events: readonly string[];
  /** ms from sending to the first content delta; null when none came. */
  readonly ttftMs: number | null;
  readonly content: string;
  readonly toolArguments: string;
  /** `data: [DONE]` arrived. */
  readonly done: boolean;
  /** A `data: {"error": …}` event. */
  readonly streamError: unknown;
}

/** `usage` of a chat answer (prompt/completion tokens), or of a Response or a Message (input/output tokens). */
function usageOf(json: unknown): Usage | undefined {
  if (!isRecord(json) || !isRecord(json.usage)) return undefined;
  const u = json.usage;
  const input = u.prompt_tokens ?? u.input_tokens;
  const output = u.completion_tokens ?? u.output_tokens;
  if (typeof input !== 'number' || typeof output !== 'number') return undefined;
  return { promptTokens: input, completionTokens: output };
}

/** The APIs a check may call besides chat: OpenAI's Responses, Anthropic's Messages. */
export type OtherApi = 'responses' | 'messages';

/** Anthropic's API version the validator speaks (https://docs.anthropic.com/en/api/versioning). */
const ANTHROPIC_VERSION = '2023-06-01';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Text of a message list, for a token estimate of the prompt. */
function promptText(body: Json): string {
  return Array.isArray(body.messages) ? JSON.stringify(body.messages) : '';
}

/**
 * One UTC day of the run's own ledger: the answered calls (the ones a relay bills), tokens and cost at the
 * subject's prices, with the part estimated for calls that reported no usage (the prompt by the tokenizer,
 * the output at `max_tokens`: an upper bound) kept apart — what the invoice check's statement is built from.
 */
export interface LedgerDay {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  estimatedRequests: number;
  estimatedInputTokens: number;
  estimatedOutputTokens: number;
  estimatedCostUsd: number;
}

export class ValidateClient {
  /** What this subject's run has used so far. */
  readonly used = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  /** The billable calls by UTC day (`YYYY-MM-DD`). */
  readonly ledger = new Map<string, LedgerDay>();

  constructor(
    private readonly subject: Subject,
    private readonly limits: Limits,
    private readonly http: HttpClient,
    private readonly tokens: TokenCounter,
  ) {}

  get model(): string {
    return this.subject.model;
  }

  /** USD of tokens at the subject's prices (0 without prices: the request cap is then the only bound). */
  costOf(input: number, output: number): number {
    const p = this.subject.prices;
    return p === undefined ? 0 : (input * p.input + output * p.output) / 1e6;
  }

  /** Whether `n` more calls of `body` fit the caps. */
  canAfford(n: number, body: Json = {}): boolean {
    if (this.used.requests + n > this.limits.maxRequests) return false;
    const each = this.costOf(this.tokens.count(promptText(body)) + 20, this.limits.maxTokens);
    return this.used.costUsd + n * each <= this.limits.maxSpendUsd;
  }

  private admit(body: Json): void {
    if (this.used.requests + 1 > this.limits.maxRequests) {
      throw new BudgetExhausted(`the run's cap of ${this.limits.maxRequests} requests is reached`);
    }
    if (!this.canAfford(1, body)) {
      throw new BudgetExhausted(`the run's spend cap of $${this.limits.maxSpendUsd} is reached`);
    }
    this.used.requests++;
  }

  private account(usage: Usage | undefined, body: Json): void {
    const input = usage?.promptTokens ?? this.tokens.count(promptText(body));
    const output = usage?.completionTokens ?? this.limits.maxTokens;
    this.used.inputTokens += usage?.promptTokens ?? 0;
    this.used.outputTokens += usage?.completionTokens ?? 0;
    const cost = this.costOf(input, output);
    this.used.costUsd += cost;
    const day = new Date().toISOString().slice(0, 10);
    const d = this.ledger.get(day) ?? {
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      estimatedRequests: 0,
      estimatedInputTokens: 0,
      estimatedOutputTokens: 0,
      estimatedCostUsd: 0,
    };
    this.ledger.set(day, d);
    d.requests++;
    d.inputTokens += input;
    d.outputTokens += output;
    d.costUsd += cost;
    if (usage === undefined) {
      d.estimatedRequests++;
      d.estimatedInputTokens += input;
      d.estimatedOutputTokens += output;
      d.estimatedCostUsd += cost;
    }
  }

  private request(body: Json, opts: CallOptions) {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: '*/*' };
    const key = opts.key === undefined ? this.subject.key : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const full = { model: this.subject.model, max_tokens: this.limits.maxTokens, ...body };
    return { headers, full, timeoutMs: opts.timeoutMs ?? this.limits.timeoutMs };
  }

  private post(headers: Record<string, string>, body: Json, signal: AbortSignal, path = '/chat/completions') {
    return this.http.send({
      url: `${this.subject.baseUrl}${path}`,
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal,
    });
  }

  /** A non-stream chat completion (`model` and `max_tokens` filled in unless the body sets them). */
  async chat(body: Json, opts: CallOptions = {}): Promise<HttpOutcome> {
    this.admit(body);
    const { headers, full, timeoutMs } = this.request(body, opts);
    return this.whole('/chat/completions', headers, full, timeoutMs);
  }

  /**
   * A non-stream question in another API: `POST /responses` (`input`, `max_output_tokens`) or
   * `POST /messages` (Anthropic's body and headers, the key as `x-api-key` only), with `text` as the user's turn.
   */
  async other(api: OtherApi, text: string): Promise<HttpOutcome> {
    const { headers, timeoutMs } = this.request({}, {});
    const max = this.limits.maxTokens;
    const model = this.subject.model;
    const full: Json =
      api === 'responses'
        ? { model, input: text, max_output_tokens: Math.max(16, max) }
        : { model, max_tokens: max, messages: [{ role: 'user', content: text }] };
    if (api === 'messages') {
      // As the Anthropic SDK and Claude Code send it: the key as `x-api-key` only, so the check finds a relay
      // (or a Switchyard) that reads only the bearer header.
      delete headers.authorization;
      headers['anthropic-version'] = ANTHROPIC_VERSION;
      headers['x-api-key'] = this.subject.key;
    }
    this.admit({ messages: [{ role: 'user', content: text }] });
    return this.whole(`/${api}`, headers, full, timeoutMs);
  }

  private async whole(
    path: string,
    headers: Record<string, string>,
    full: Json,
    timeoutMs: number,
  ): Promise<HttpOutcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const t0 = performance.now();
    try {
      const res = await this.post(headers, full, controller.signal, path);
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const c of res.body) {
        chunks.push(c);
        size += c.byteLength;
      }
      const text = utf8.decode(concat(chunks, size));
      const json = parseJson(text);
      const usage = res.status < 300 ? usageOf(json) : undefined;
      if (res.status < 300) this.account(usage, full);
      return {
        status: res.status,
        headers: flatHeaders(res.headers),
        text,
        json,
        latencyMs: performance.now() - t0,
        timedOut: false,
        usage,
      };
    } catch (err) {
      // No usage to read, but the relay may bill it: charged at the worst case, so the cap holds.
      this.account(undefined, full);
      return failed(t0, controller.signal.aborted, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A streamed chat completion, every read timed. `stream_options.include_usage` is asked for. */
  async stream(body: Json, opts: CallOptions = {}): Promise<StreamOutcome> {
    this.admit(body);
    const { headers, full, timeoutMs } = this.request(
      { stream: true, stream_options: { include_usage: true }, ...body },
      opts,
    );
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const t0 = performance.now();
    const reads: StreamRead[] = [];
    const events: string[] = [];
    const st = {
      ttft: null as number | null,
      content: '',
      args: '',
      done: false,
      error: undefined as unknown,
    };
    let usage: Usage | undefined;
    let status: number | null = null;
    let resHeaders: Record<string, string> = {};
    let raw = '';
    try {
      const res = await this.post(headers, full, controller.signal);
      status = res.status;
      resHeaders = flatHeaders(res.headers);
      const errorBody = new TextDecoder();
      const sse = new SseDecoder();
      // Whole events in, what the checks measure out; the last one may close only at the end of the body.
      const take = (complete: string, at: number): number => {
        let deltas = 0;
        for (const ev of parseEvents(complete)) {
          if (ev.data === '[DONE]') {
            st.done = true;
            continue;
          }
          events.push(ev.data);
          const json = parseJson(ev.data);
          if (isRecord(json) && 'error' in json) st.error = json.error;
          usage = usageOf(json) ?? usage;
          const delta = deltaOf(json);
          if (delta.content !== '' || delta.args !== '') {
            deltas++;
            st.ttft ??= at;
            st.content += delta.content;
            st.args += delta.args;
          }
        }
        return deltas;
      };
      for await (const chunk of res.body) {
        const at = performance.now() - t0;
        if (res.status >= 300) {
          raw += errorBody.decode(chunk, { stream: true });
          continue;
        }
        reads.push({ atMs: at, bytes: chunk.byteLength, deltas: take(sse.push(chunk), at) });
      }
      if (res.status >= 300) raw += errorBody.decode();
      else take(sse.end(), performance.now() - t0);
      if (res.status < 300) this.account(usage, full);
      return {
        status,
        headers: resHeaders,
        text: raw,
        json: res.status >= 300 ? parseJson(raw) : undefined,
        latencyMs: performance.now() - t0,
        timedOut: false,
        usage,
        reads,
        events,
        ttftMs: st.ttft,
        content: st.content,
        toolArguments: st.args,
        done: st.done,
        streamError: st.error,
      };
    } catch (err) {
      this.account(usage, full);
      const f = failed(t0, controller.signal.aborted, err);
      return {
        ...f,
        status,
        headers: resHeaders,
        reads,
        events,
        ttftMs: st.ttft,
        content: st.content,
        toolArguments: st.args,
        done: st.done,
        streamError: st.error,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

export type { Json };
