/**
 * Claude on Amazon Bedrock, natively: a Messages body goes through InvokeModel /
 * InvokeModelWithResponseStream as Bedrock's Anthropic body — the Messages fields as sent, plus
 * `anthropic_version: "bedrock-2023-05-31"` and the beta flags Bedrock takes as `anthropic_beta`, without
 * `model` (it is in the path) or `stream` (the operation says it); see
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
 * The beta flags Bedrock documents for Claude's `anthropic_beta`: the "Available beta headers" table of
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
 * (the table writes `Interleaved-thinking-…`; Anthropic's flag, and what clients send, is lower-case).
 * InvokeModel refuses any other flag with a 400 ValidationException, and Claude Code sends first-party ones
 * (`claude-code-20250219`, `oauth-2025-04-20`, `prompt-caching-2024-07-31`, `files-api-2025-04-14`, …): a
 * client's flag outside this list is dropped, and named in the request's log line.
 */
export const BEDROCK_BETAS: ReadonlySet<string> = new Set([
  'computer-use-2025-01-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
]);

/** The beta flags of a call to Claude on Bedrock, by who set them (each comma-separated). */
export interface BedrockBetas {
  /** The client's `anthropic-beta` header: only flags in {@link BEDROCK_BETAS} are sent. */
  readonly client?: string | undefined;
  /**
   * The provider config's `headers['anthropic-beta']`: sent as they are. The operator knows their account —
   * a flag Bedrock grants to some accounts only (`dev-full-thinking-…` asks the account team) or a newer one
   * this list does not have yet stays reachable by configuring it.
   */
  readonly operator?: string | undefined;
}

/** Bedrock's InvokeModel body, and the client's beta flags left out of it (each once, as sent). */
export interface BedrockMessagesBody {
  readonly body: Json;
  readonly dropped: readonly string[];
}

/**
 * The most beta flags taken from one source: Anthropic defines a few dozen, and every one the client sends that
 * Bedrock does not document becomes a line of the request's log, so a body's array is bounded here.
 */
export const MAX_BETA_FLAGS = 64;

/** The flags of a comma-separated header or of a body's `anthropic_beta` array, trimmed, empties left out. */
function flagsOf(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [];
  return list
    .slice(0, MAX_BETA_FLAGS)
    .filter((f): f is string => typeof f === 'string')
    .map((f) => f.trim())
    .filter((f) => f !== '' && f.length <= MAX_NAME_LENGTH);
}

/**
 * A Messages request body (as the client sent it, parsed) → Bedrock's InvokeModel body. Key order is kept
 * (`anthropic_version` first, as the user guide writes it); nothing but the edits above changes. Beta flags:
 * any already in the body and the client's header (both the client's: filtered), then the operator's, once each.
 */
export function bedrockMessagesBody(body: Readonly<Json>, betas: BedrockBetas = {}): BedrockMessagesBody {
  const { model: _model, stream: _stream, anthropic_version: _version, anthropic_beta, ...rest } = body;
  const operator = flagsOf(betas.operator);
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const flag of [...flagsOf(anthropic_beta), ...flagsOf(betas.client)]) {
    (BEDROCK_BETAS.has(flag) || operator.includes(flag) ? kept : dropped).push(flag);
  }
  const flags = [...new Set([...kept, ...operator])];
  return {
    body: {
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      ...(flags.length === 0 ? {} : { anthropic_beta: flags }),
      ...rest,
    },
    dropped: [...new Set(dropped)],
  };
}
