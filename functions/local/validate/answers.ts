/** Reading answers and keeping their timings: what every suite does with a call's outcome. */

import { isRecord } from '../../core/json.ts';
import { classifyError, type ErrorClass, excerpt } from './classify.ts';
import type { HttpOutcome, Json, StreamOutcome } from './client.ts';
import { round } from './stats.ts';
import type { CheckContext } from './types.ts';

export const user = (content: string): Json => ({ role: 'user', content });
export const ask = (content: string, extra: Json = {}): Json => ({ messages: [user(content)], ...extra });

/** The first choice's message content of a non-stream answer ('' when there is none). */
export function contentOf(outcome: HttpOutcome | StreamOutcome): string {
  if ('reads' in outcome) return outcome.content;
  const json = outcome.json;
  const choice = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
  const message = isRecord(choice) && isRecord(choice.message) ? choice.message : undefined;
  return typeof message?.content === 'string' ? message.content : '';
}

/** A usable answer: a 2xx without an error, with content. */
export const answered = (outcome: HttpOutcome | StreamOutcome): boolean =>
  classifyError(outcome) === null && contentOf(outcome).trim() !== '';

/** Keeps the latency (and a stream's TTFT) of a successful call for the report's distributions. */
export function record(ctx: CheckContext, outcome: HttpOutcome | StreamOutcome): void {
  if (classifyError(outcome) !== null) return;
  ctx.samples.latencyMs.push(round(outcome.latencyMs));
  if ('ttftMs' in outcome && outcome.ttftMs !== null) ctx.samples.ttftMs.push(round(outcome.ttftMs));
}

/** What a reader needs of one call: status, time, the error row when it failed, a short excerpt. */
export function callEvidence(outcome: HttpOutcome | StreamOutcome, model?: string): Json {
  const error: ErrorClass | null = classifyError(outcome, model === undefined ? {} : { model });
  const content = contentOf(outcome);
  return {
    status: outcome.status,
    latencyMs: round(outcome.latencyMs),
    ...(error === null ? {} : { error }),
    ...(content === '' ? {} : { content: excerpt(content) }),
    ...(error !== null && content === '' && outcome.text !== '' ? { body: excerpt(outcome.text) } : {}),
  };
}

/** "HTTP 500 upstream_error/upstream_server_error (relay: server_error)" — a failed call in a summary line. */
export function describeFailure(outcome: HttpOutcome | StreamOutcome): string {
  const e = classifyError(outcome);
  if (e === null) return contentOf(outcome).trim() === '' ? `HTTP ${outcome.status} with no content` : 'ok';
  const said = e.relay.code ?? e.relay.type;
  const relay = said === undefined || said === e.code ? '' : ` (relay: ${said})`;
  return `${e.status === null ? 'no answer' : `HTTP ${e.status}`} ${e.type}/${e.code}${relay}`;
}
