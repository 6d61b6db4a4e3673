/**
 * Amazon Bedrock through Converse / ConverseStream. The core may not import the AWS SDK, so this adapter only
 * builds the Converse input as JSON and translates the answers; the transport in functions/aws
 * (bedrock-transport.ts) calls Bedrock with the SDK and IAM credentials (no key), reading the model id from
 * the path and the region from the `x-switchyard-region` header. Chat only: Bedrock embeddings (Titan,
 * Cohere via InvokeModel) are not part of this adapter.
 */

import {
  bedrockInvokePath,
  bedrockMessagesBody,
  isClaudeOnBedrock,
} from '../../endpoints/messages/bedrock.ts';
import { header } from '../../http.ts';
import {
  type ForwardInput,
  type ProviderAdapter,
  UnsupportedFieldError,
  type UpstreamCall,
} from '../types.ts';
import { parseBedrockError } from './errors.ts';
import { converseInput } from './request.ts';
import { completionOf } from './response.ts';
import { ConverseStreamTranslator } from './stream.ts';

/** Header that carries the provider's region to the transport (the SDK client is made per region). */
export const REGION_HEADER = 'x-switchyard-region';

export { parseBedrockError } from './errors.ts';

/** The region header and the call's own headers (the transport signs the request; there is no key). */
function headersOf(
  region: string | undefined,
  requestId: string,
  extraHeaders: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (region === undefined)
    throw new Error('a bedrock provider needs `region` (config validation requires it)');
  const headers: Record<string, string> = {};
  if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
  return Object.assign(headers, {
    'content-type': 'application/json',
    'x-request-id': requestId,
    [REGION_HEADER]: region,
  });
}

/**
 * A Messages request to a Claude model: InvokeModel(-WithResponseStream) with Bedrock's Anthropic body, so
 * prompt caching and thinking survive (endpoints/messages/bedrock.ts); other models are translated to chat
 * and go through Converse. Beta flags: the client's `anthropic-beta` and the provider config's (`headers`),
 * as an `anthropic` provider joins them — Bedrock reads them only from the body's `anthropic_beta`, so a flag
 * left in a header would be silently lost. The client's flags Bedrock does not document are dropped (it
 * would refuse the call) and named in the log line; the config's are the operator's, sent as they are.
 */
/** Dropped beta flags named in the log line; the rest are counted. */
const SHOWN_DROPPED = 16;

function forwardMessages(f: ForwardInput): UpstreamCall | undefined {
  if (f.endpoint !== 'messages' || !isClaudeOnBedrock(f.model)) return undefined;
  const { body, dropped } = bedrockMessagesBody(f.json, {
    client: header(f.clientHeaders, 'anthropic-beta'),
    operator: f.extraHeaders?.['anthropic-beta'],
  });
  const warnings =
    dropped.length === 0
      ? []
      : [
          `anthropic-beta ${dropped.slice(0, SHOWN_DROPPED).join(', ')}` +
            `${dropped.length > SHOWN_DROPPED ? ` and ${dropped.length - SHOWN_DROPPED} more` : ''}` +
            ` dropped: Bedrock does not document ${dropped.length === 1 ? 'it' : 'them'}`,
        ];
  return {
    method: 'POST',
    path: bedrockInvokePath(f.model, f.stream),
    headers: headersOf(f.provider.region, f.requestId, f.extraHeaders),
    body: JSON.stringify(body),
    ...(warnings.length === 0 ? {} : { warnings }),
  };
}

export const bedrockAdapter = {
  type: 'bedrock',
  forward: forwardMessages,
  buildCall({ op, body, model, requestId, extraHeaders, provider, epochMs }) {
    if (op !== 'chat') {
      throw new UnsupportedFieldError(
        'model',
        `Bedrock ${op} are not supported by the bedrock adapter (chat completions only).`,
      );
    }
    const headers = headersOf(provider?.region, requestId, extraHeaders);
    const { input, warnings, jsonTool } = converseInput(body, model, provider?.maxTokens);
    const ctx = {
      id: `chatcmpl-${requestId}`,
      model,
      created: Math.floor((epochMs ?? Date.now()) / 1000),
      ...(jsonTool === undefined ? {} : { jsonTool }),
    };
    return {
      method: 'POST',
      path: `/model/${encodeURIComponent(model)}/${body.stream === true ? 'converse-stream' : 'converse'}`,
      headers,
      body: JSON.stringify(input),
      // The transport (functions/aws/bedrock-transport.ts) turns ConverseStream's events into JSON lines.
      streamType: 'application/x-ndjson',
      translator: {
        body: (text: string) => completionOf(text, ctx),
        stream: () => new ConverseStreamTranslator(ctx),
      },
      warnings,
    };
  },
  parseError: parseBedrockError,
} satisfies ProviderAdapter;
