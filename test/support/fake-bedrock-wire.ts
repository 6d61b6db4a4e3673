// The Bedrock runtime's wire, shared by the Bedrock fake's operations (fake-bedrock.ts: Converse;
// fake-bedrock-invoke.ts: InvokeModel for Claude): error answers (a status, `x-amzn-errortype:
// <Name>:<namespace>` and `{"message": …}`) and AWS event-stream frames (`:event-type` or `:exception-type`,
// `:message-type` event|exception, `:content-type`).
// https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import type { Json } from './fake-openai-stream.ts';
import { sendBody } from './fake-server-kit.ts';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.bedrock/';
export const CORAL = 'http://internal.amazon.com/coral/com.amazon.coral.service/';

/** Bedrock's exception for a status, with the message the real service answers. */
export const ERRORS: Readonly<Record<number, [string, string]>> = {
  400: ['ValidationException', 'The provided request is not valid'],
  403: ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
  404: ['ResourceNotFoundException', 'The requested resource could not be found.'],
  408: ['ModelTimeoutException', 'Model has timed out in processing the request.'],
  424: ['ModelErrorException', 'The model returned an error.'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'The server encountered an internal error.'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
};

export const jsonHeaders = () => ({ 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });

export function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  ns = NAMESPACE,
): void {
  const headers = { ...jsonHeaders(), 'x-amzn-errortype': `${type}:${ns}` };
  sendBody(res, status, headers, JSON.stringify({ message }));
}

export function frame(messageType: 'event' | 'exception', type: string, payload: Json): Uint8Array {
  const typeHeader = messageType === 'event' ? ':event-type' : ':exception-type';
  return codec.encode({
    headers: {
      [typeHeader]: { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    // Bedrock pads every event with `p` (random characters) against length side channels.
    body: fromUtf8(JSON.stringify(messageType === 'event' ? { ...payload, p: 'abcdefghij' } : payload)),
  });
}

/** An exception event of a stream (e.g. throttlingException, modelStreamErrorException) after N events. */
export interface StreamException {
  afterEvents: number;
  type: string;
  message?: string;
}

export function exceptionFrame(ex: StreamException): Uint8Array {
  const payload: Json = { message: ex.message ?? `${ex.type} from the fake` };
  if (ex.type === 'modelStreamErrorException') {
    Object.assign(payload, { originalStatusCode: 500, originalMessage: 'model failed' });
  }
  return frame('exception', ex.type, payload);
}
