/**
 * Writing Responses stream events: named SSE events (`event: <type>` + `data:` with `type` and
 * `sequence_number`, numbered from 0 in the order sent), as OpenAI streams them.
 * https://platform.openai.com/docs/api-reference/responses-streaming
 */
import type { Json } from '../../json.ts';
import type { ResponsesFailure } from './response-object.ts';

/** One named event. */
export function sseEvent(type: string, sequenceNumber: number, fields: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequenceNumber, ...fields })}\n\n`;
}

/**
 * The `error` event. The API reference documents its fields flat (`code`, `message`, `param`); the live API
 * also nests them under `error`, and that nested object is what makes the official SDKs raise an APIError
 * (openai-node's Stream throws on `data.error`) — so both are written: a client reading either shape sees
 * the failure, and the openai SDK's stream throws as it does for the gateway's chat error events.
 */
export function errorEvent(sequenceNumber: number, failure: ResponsesFailure): string {
  const code = failure.code ?? null;
  const param = failure.param ?? null;
  return sseEvent('error', sequenceNumber, {
    code,
    message: failure.message,
    param,
    error: { type: failure.type ?? 'server_error', code, message: failure.message, param },
  });
}

/** Numbers the events of one stream. */
export class EventWriter {
  private seq = 0;

  /** The sequence number the next event gets. */
  get next(): number {
    return this.seq;
  }

  write(type: string, fields: Json): string {
    return sseEvent(type, this.seq++, fields);
  }

  error(failure: ResponsesFailure): string {
    return errorEvent(this.seq++, failure);
  }
}
