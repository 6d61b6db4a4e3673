/**
 * Claude on Amazon Bedrock, natively: a Messages body goes through InvokeModel /
 * InvokeModelWithResponseStream as Bedrock's Anthropic body — the Messages fields as sent, plus
 * `anthropic_version: "bedrock-2023-05-31"` and the beta flags as `anthropic_beta`, without `model` (it is in
 * the path) or `stream` (the operation says it); see
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html.
 * So prompt caching and thinking survive, which Converse would translate away. The transport
 * (functions/aws/bedrock-transport.ts) serves the answer as Anthropic's: the JSON body, or the stream as
 * Anthropic SSE text.
 */
import type { Json } from '../../json.ts';
import { MAX_NAME_LENGTH } from '../../schemas/names.ts';

/** The only value Bedrock accepts for Claude's Messages body (the user guide's request syntax). */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/**
 * A Claude model id on Bedrock: a foundation model (`anthropic.claude-…`), a cross-region inference profile
 * (`us.` / `eu.` / `apac.` / `global.` / `us-gov.anthropic.claude-…`), or either as an ARN. An application
 * inference profile or a provisioned model ARN names no model: it is not recognised, and goes through
 * Converse (translated), which serves any model.
 */
const CLAUDE =
  /^(?:arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?:foundation-model|inference-profile|system-defined-inference-profile)\/)?(?:[a-z]{2,6}(?:-[a-z]{2,4})?\.)?anthropic\.claude-/;

/** Whether a Bedrock model id is a Claude model, served natively through InvokeModel. */
export function isClaudeOnBedrock(modelId: string): boolean {
  return modelId.length <= MAX_NAME_LENGTH * 2 && CLAUDE.test(modelId);
}

/** The path of the call the transport reads (as it reads `/model/{id}/converse` for Converse). */
export function bedrockInvokePath(modelId: string, stream: boolean): string {
  return `/model/${encodeURIComponent(modelId)}/${stream ? 'invoke-with-response-stream' : 'invoke'}`;
}

/**
 * Beta flags: the client's `anthropic-beta` header (comma-separated) and any already in the body, once each.
 */
function betasOf(header: string | undefined, inBody: unknown): string[] {
  const flags = [
    ...(Array.isArray(inBody) ? inBody.filter((f): f is string => typeof f === 'string') : []),
    ...(header ?? '').split(','),
  ]
    .map((f) => f.trim())
    .filter((f) => f !== '' && f.length <= MAX_NAME_LENGTH);
  return [...new Set(flags)];
}

/**
 * A Messages request body (as the client sent it, parsed) → Bedrock's InvokeModel body. Key order is kept
 * (`anthropic_version` first, as the user guide writes it); nothing but the edits above changes.
 */
export function bedrockMessagesBody(body: Readonly<Json>, anthropicBeta?: string): Json {
  const { model: _model, stream: _stream, anthropic_version: _version, anthropic_beta, ...rest } = body;
  const betas = betasOf(anthropicBeta, anthropic_beta);
  return {
    anthropic_version: BEDROCK_ANTHROPIC_VERSION,
    ...(betas.length === 0 ? {} : { anthropic_beta: betas }),
    ...rest,
  };
}
