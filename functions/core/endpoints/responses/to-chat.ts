/**
 * A Responses request → a chat-completions request, for every target that does not serve `/v1/responses`
 * itself (chat-only relays, and through the chat translators Anthropic, Gemini and Bedrock). One field table
 * (STYLE.md rule 2): each Responses field is translated, dropped with a warning for the log line (ignoring it
 * is harmless), or refused with {@link UnsupportedFieldError} naming it (ignoring it would lie) — then the next
 * target is tried, and a 400 `unsupported_parameter` comes only when no target can take it.
 * Responses: https://platform.openai.com/docs/api-reference/responses/create
 * Chat: https://platform.openai.com/docs/api-reference/chat/create
 */
import { isRecord, type Json } from '../../json.ts';
import { applyFieldTable, type FieldContext, type FieldTable } from '../../providers/fields.ts';
import { UnsupportedFieldError } from '../../providers/types.ts';
import { messagesFromItems } from './input-items.ts';

const DOC = 'https://platform.openai.com/docs/api-reference/responses/create';
const CHAT = 'https://platform.openai.com/docs/api-reference/chat/create';
/** How the table's drops and refusals name the target. */
const TARGET = 'Chat Completions';

const refuse = (param: string, why: string): never => {
  throw new UnsupportedFieldError(param, `'${param}' is not supported by ${TARGET}: ${why}.`);
};

/** Responses function tools are flat (`{type, name, parameters}`); chat nests them under `function`. */
function toolsOf(value: unknown): Json[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((t: unknown, i) => {
    const tool = isRecord(t) ? t : {};
    if (tool.type !== 'function') {
      // web_search, file_search, code_interpreter, computer use, MCP, image generation, shell, custom tools:
      // OpenAI runs them on its own servers; a chat target has nothing that would run them.
      return refuse(
        `tools[${i}].type`,
        'only function tools can be translated (built-in tools run on OpenAI)',
      );
    }
    const fn: Json = { name: tool.name };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (isRecord(tool.parameters)) fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

/** A function named by the Responses shape (`{type: 'function', name}`) → chat's (`{function: {name}}`). */
function namedFunction(value: Json): Json {
  return { type: 'function', function: { name: value.name } };
}

function toolChoiceOf(value: unknown): unknown {
  if (typeof value === 'string') return value; // none | auto | required: the same words in chat
  if (isRecord(value) && value.type === 'function') return namedFunction(value);
  if (isRecord(value) && value.type === 'allowed_tools' && Array.isArray(value.tools)) {
    const tools = value.tools.map((t: unknown) =>
      isRecord(t) && t.type === 'function'
        ? namedFunction(t)
        : refuse('tool_choice', 'built-in tools run on OpenAI'),
    );
    return { type: 'allowed_tools', allowed_tools: { mode: value.mode, tools } };
  }
  return refuse('tool_choice', 'only function tools can be chosen (built-in tools run on OpenAI)');
}

/** `text.format` → `response_format`; `text.verbosity` → chat's `verbosity`. */
function writeText(out: Json, value: unknown): void {
  if (!isRecord(value)) return;
  const format = isRecord(value.format) ? value.format : undefined;
  if (format?.type === 'json_object') out.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    const js: Json = { name: format.name, schema: format.schema };
    if (typeof format.description === 'string') js.description = format.description;
    if (typeof format.strict === 'boolean') js.strict = format.strict;
    out.response_format = { type: 'json_schema', json_schema: js };
  }
  if (typeof value.verbosity === 'string') out.verbosity = value.verbosity;
}

/** `reasoning.effort` → chat's `reasoning_effort`; a summary cannot come back from a chat answer. */
function writeReasoning(out: Json, value: unknown, ctx: FieldContext): void {
  if (!isRecord(value)) return;
  if (typeof value.effort === 'string') out.reasoning_effort = value.effort;
  // Dropped, not refused: Codex asks `summary: "auto"` on every call, and OpenAI itself answers without a
  // summary when the model has none to give; the answer is complete without it.
  if (value.summary !== undefined && value.summary !== null) {
    ctx.warn('reasoning.summary dropped: a chat answer carries no reasoning summary');
  }
}

/** The gateway's own business, never a chat field: handled before the translation, no warning. */
const gatewayField = (doc: string) => ({ transform: () => undefined, doc });

/**
 * Every Responses field and what becomes of it for a chat target. Row order matters: `input` writes the
 * messages, then `instructions` puts its system message first; `tools` comes before `parallel_tool_calls`.
 */
function responsesFields(previous: readonly Json[], referenced: ReadonlyMap<string, Json>): FieldTable {
  return {
    input: {
      // Always written (an absent input is an empty list): earlier turns may stand alone.
      default: () => [],
      write: (out, value, ctx) => {
        out.messages = messagesFromItems(previous, value, ctx.warn, referenced);
      },
      doc: `${DOC}#responses-create-input — items → messages (input-items.ts); earlier turns first`,
    },
    instructions: {
      write: (out, value) => {
        if (typeof value !== 'string' || value === '') return;
        const messages = Array.isArray(out.messages) ? out.messages : [];
        out.messages = [{ role: 'system', content: value }, ...messages];
      },
      doc: `${DOC}#responses-create-instructions — a system message first; an earlier turn's are not carried`,
    },
    tools: { transform: toolsOf, doc: `${DOC}#responses-create-tools — function tools only (${CHAT}#tools)` },
    tool_choice: { transform: toolChoiceOf, doc: `${DOC}#responses-create-tool_choice` },
    parallel_tool_calls: {
      // OpenAI's chat API refuses parallel_tool_calls in a request without tools.
      write: (out, value) => {
        if (out.tools !== undefined) out.parallel_tool_calls = value;
      },
      doc: `${CHAT}#parallel_tool_calls`,
    },
    text: { write: writeText, doc: `${DOC}#responses-create-text — format → response_format (${CHAT})` },
    // max_tokens, not max_completion_tokens: every chat relay and translator takes it; OpenAI's reasoning
    // models, which want the other, serve /v1/responses natively.
    max_output_tokens: { param: 'max_tokens', doc: `${DOC}#responses-create-max_output_tokens` },
    temperature: { doc: `${CHAT}#temperature` },
    top_p: { doc: `${CHAT}#top_p` },
    user: { doc: `${CHAT}#user` },
    safety_identifier: { doc: `${CHAT}#safety_identifier` },
    prompt_cache_key: { doc: `${CHAT}#prompt_cache_key` },
    service_tier: { doc: `${CHAT}#service_tier` },
    reasoning: { write: writeReasoning, doc: `${CHAT}#reasoning_effort` },
    stream: {
      write: (out, value) => {
        if (value !== true) return;
        out.stream = true;
        // The translated stream ends with response.completed and its usage: the chat stream must report it.
        out.stream_options = { include_usage: true };
      },
      doc: `${CHAT}#stream_options`,
    },
    background: {
      transform: (value) =>
        value === true ? refuse('background', 'the answer is only ever streamed or returned') : undefined,
      doc: 'https://platform.openai.com/docs/guides/background — needs a server that runs it on its own',
    },
    truncation: {
      transform: (value, ctx) => {
        if (value === 'auto')
          ctx.warn('truncation dropped: a chat target does not truncate the conversation');
        return undefined;
      },
      doc: `${DOC}#responses-create-truncation — an over-long input then fails as it does with 'disabled'`,
    },
    include: {
      transform: (value, ctx) => {
        if (Array.isArray(value) && value.length > 0)
          ctx.warn('include dropped: a chat answer has none of them');
        return undefined;
      },
      doc: `${DOC}#responses-create-include — extra output (encrypted reasoning, logprobs, tool results)`,
    },
    store: gatewayField('the gateway keeps the response (its store), not the target'),
    previous_response_id: gatewayField('the gateway reads the earlier turns from its store (`previous`)'),
    // Refused: OpenAI-side objects a chat target cannot reach, or a promise it cannot keep.
    conversation: 'reject', // a Conversations API object: https://platform.openai.com/docs/api-reference/conversations
    prompt: 'reject', // a prompt template stored at OpenAI
    moderation: 'reject', // moderated completions: ignoring it would skip the moderation asked for
    // Dropped with a warning: tags and hints a chat answer is complete without.
    metadata: 'drop', // tags of the stored response; the gateway echoes them in the Response object
    top_logprobs: 'drop', // the translated answer has no logprobs
    max_tool_calls: 'drop', // bounds built-in tool calls, which a chat target never makes
    prompt_cache_retention: 'drop', // OpenAI's cache policy
    context_management: 'drop', // OpenAI's server-side compaction
  };
}

/**
 * The chat-completions body for a Responses request. `previous` holds the items of the earlier turns (oldest
 * first: each earlier response's input items, then its output items) when the request continues a stored
 * conversation (`previous_response_id`); `referenced`, the items its `item_reference`s name that the gateway
 * read from its store (references.ts). `warnings` are for the request's log line. Throws
 * {@link UnsupportedFieldError}.
 */
export function chatFromResponses(
  body: Readonly<Json>,
  previous: readonly Json[],
  referenced: ReadonlyMap<string, Json> = new Map(),
): { chat: Json; warnings: string[] } {
  const model = typeof body.model === 'string' ? body.model : '';
  const { out, warnings } = applyFieldTable(responsesFields(previous, referenced), body, model, TARGET);
  if (!Array.isArray(out.messages) || out.messages.length === 0) {
    throw new UnsupportedFieldError('input', `'input' is required: ${TARGET} needs at least one message.`);
  }
  return { chat: { model, ...out }, warnings };
}
