/**
 * Messages request → OpenAI chat request, for targets that speak chat (OpenAI-compatible relays, and Gemini
 * and Bedrock's non-Claude models through their chat adapters). One field table (STYLE.md rule 2, applied by
 * providers/fields.ts) says what becomes of every Messages field: translated, dropped with a warning for the
 * log line, or rejected with UnsupportedFieldError naming it (the next target may be an Anthropic one that
 * honours it; when none is, the client gets a 400). Messages API: https://docs.anthropic.com/en/api/messages
 */
import { isRecord, type Json } from '../../json.ts';
import { applyFieldTable, type FieldContext, type FieldTable } from '../../providers/fields.ts';
import { UnsupportedFieldError } from '../../providers/types.ts';
import type { MessagesRequest } from './schema.ts';

const DOC = 'https://docs.anthropic.com/en/api/messages';
const CHAT_DOC = 'https://platform.openai.com/docs/api-reference/chat/create';
/** How the field table's messages name the target. */
const TARGET = 'chat translation';

/** The chat request and the warnings of what was dropped. */
export interface ChatFromMessages {
  readonly chat: Json;
  readonly warnings: string[];
}

const unsupported = (param: string, why: string): UnsupportedFieldError =>
  new UnsupportedFieldError(param, `'${param}' ${why}`);

/** Text blocks (or a string) as one text: Anthropic's separate blocks stay separate paragraphs. */
function joinedText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is Json => isRecord(b) && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n\n');
}

/** An image block → a chat `image_url` part (base64 bytes as a data URL, a URL as is). */
function imagePart(block: Json, where: string): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64') {
    return {
      type: 'image_url',
      image_url: { url: `data:${String(source.media_type)};base64,${String(source.data)}` },
    };
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: String(source.url) } };
  // A Files API id (`file`) names bytes only Anthropic holds.
  throw unsupported(
    `${where}.source.type`,
    `'${String(source.type)}' image sources need an Anthropic target.`,
  );
}

/** A document block → chat parts: a PDF as a `file` part, plain text (or text blocks) as text. */
function documentParts(block: Json, where: string): Json[] {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64' && source.media_type === 'application/pdf') {
    const filename = typeof block.title === 'string' && block.title !== '' ? block.title : 'document.pdf';
    const file_data = `data:application/pdf;base64,${String(source.data)}`;
    return [{ type: 'file', file: { filename, file_data } }];
  }
  if (source.type === 'text' && typeof source.data === 'string') return [{ type: 'text', text: source.data }];
  if (source.type === 'content') return [{ type: 'text', text: joinedText(source.content) }];
  // URL and Files API documents are fetched by Anthropic; a chat target has no such part.
  throw unsupported(`${where}.source.type`, `'${String(source.type)}' documents need an Anthropic target.`);
}

/** A user turn's parts as chat content: one text part is a plain string (every relay takes that). */
function userContent(parts: Json[]): string | Json[] {
  const only = parts[0];
  return parts.length === 1 && only?.type === 'text' ? String(only.text) : parts;
}

/**
 * A user turn → chat messages in block order: each `tool_result` is a `tool` message, the other blocks
 * gather into user messages between them. Anthropic puts tool results first in the turn after a tool use
 * (tool-use doc, "tool results must come first"), so the tool messages follow the assistant's tool calls as
 * chat requires. A tool result's images go to the user message after it: chat tool messages hold text only.
 */
function userMessages(content: MessageContent, i: number): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const out: Json[] = [];
  let parts: Json[] = [];
  const flush = (): void => {
    if (parts.length > 0) out.push({ role: 'user', content: userContent(parts) });
    parts = [];
  };
  content.forEach((block, j) => {
    const where = `messages[${i}].content[${j}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: String(block.text) });
        return;
      case 'image':
        parts.push(imagePart(block, where));
        return;
      case 'document':
        parts.push(...documentParts(block, where));
        return;
      case 'tool_result': {
        flush();
        const texts: string[] = [];
        const result =
          typeof block.content === 'string' ? [{ type: 'text', text: block.content }] : block.content;
        (Array.isArray(result) ? result.filter(isRecord) : []).forEach((p, k) => {
          if (p.type === 'text') texts.push(String(p.text));
          else if (p.type === 'image') parts.push(imagePart(p, `${where}.content[${k}]`));
          else if (p.type === 'document') parts.push(...documentParts(p, `${where}.content[${k}]`));
          else throw unsupported(`${where}.content[${k}].type`, 'is not supported in a chat tool message.');
        });
        // Chat has no error flag on a tool message: the model reads it in the text.
        const text = texts.join('\n');
        out.push({
          role: 'tool',
          tool_call_id: String(block.tool_use_id),
          content: block.is_error === true ? `Error: ${text}` : text,
        });
        return;
      }
      default:
        throw unsupported(
          `${where}.type`,
          `blocks of type '${block.type}' in a user turn need an Anthropic target.`,
        );
    }
  });
  flush();
  return out;
}

/**
 * An assistant turn → one chat assistant message: text blocks are its content, `tool_use` blocks its tool
 * calls (input as JSON text). Thinking blocks are left out: their signatures mean something only to
 * Anthropic, and a chat model does not need its earlier reasoning to go on.
 */
function assistantMessage(content: MessageContent, i: number): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const calls: Json[] = [];
  content.forEach((block, j) => {
    if (block.type === 'text') texts.push(String(block.text));
    else if (block.type === 'tool_use') {
      calls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input) },
      });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      throw unsupported(
        `messages[${i}].content[${j}].type`,
        `blocks of type '${block.type}' in an assistant turn need an Anthropic target.`,
      );
    }
  });
  const text = texts.join('');
  const msg: Json = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) msg.tool_calls = calls;
  return msg;
}

type MessageContent = MessagesRequest['messages'][number]['content'];

/** Every Messages turn → chat messages (appended to what `system` wrote). */
function writeMessages(out: Json, value: unknown): void {
  const list = Array.isArray(out.messages) ? (out.messages as Json[]) : [];
  const turns = (Array.isArray(value) ? value : []) as MessagesRequest['messages'];
  turns.forEach((m, i) => {
    if (m.role === 'system') list.push({ role: 'system', content: joinedText(m.content) });
    else if (m.role === 'user') list.push(...userMessages(m.content, i));
    else list.push(assistantMessage(m.content, i));
  });
  out.messages = list;
}

/** `system` → a system message first (text blocks joined as paragraphs). */
function writeSystem(out: Json, value: unknown): void {
  const text = joinedText(value);
  if (text === '') return;
  const list = Array.isArray(out.messages) ? (out.messages as Json[]) : [];
  out.messages = [{ role: 'system', content: text }, ...list];
}

const hasTools = (body: Readonly<Json>): boolean => Array.isArray(body.tools) && body.tools.length > 0;

/** Client tools → chat function tools; a server tool (web search, code execution…) runs only at Anthropic. */
function toolsOf(value: unknown): Json[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.filter(isRecord).map((t, i) => {
    if (t.type != null && t.type !== 'custom') {
      throw unsupported(
        `tools[${i}].type`,
        `is a server tool ('${String(t.type)}'): it needs an Anthropic target.`,
      );
    }
    const fn: Json = {
      name: t.name,
      parameters: isRecord(t.input_schema) ? t.input_schema : { type: 'object', properties: {} },
    };
    if (typeof t.description === 'string') fn.description = t.description;
    if (typeof t.strict === 'boolean') fn.strict = t.strict;
    return { type: 'function', function: fn };
  });
}

/** auto → auto, any → required, tool → that function, none → none; disable_parallel_tool_use → false. */
function writeToolChoice(out: Json, value: unknown, ctx: FieldContext): void {
  // Chat refuses tool_choice and parallel_tool_calls without tools; Anthropic's meaning is the same then.
  if (!hasTools(ctx.body) || !isRecord(value)) return;
  if (value.type === 'auto') out.tool_choice = 'auto';
  else if (value.type === 'any') out.tool_choice = 'required';
  else if (value.type === 'none') out.tool_choice = 'none';
  else if (value.type === 'tool') out.tool_choice = { type: 'function', function: { name: value.name } };
  else throw unsupported('tool_choice.type', `'${String(value.type)}' has no chat equivalent.`);
  if (value.disable_parallel_tool_use === true && value.type !== 'none') out.parallel_tool_calls = false;
}

/**
 * Structured outputs → `response_format` json_schema (not strict: chat's strict mode refuses some schemas).
 */
function writeOutputConfig(out: Json, value: unknown, ctx: FieldContext): void {
  if (!isRecord(value)) return;
  if (isRecord(value.format)) {
    out.response_format = {
      type: 'json_schema',
      json_schema: { name: 'output', schema: value.format.schema },
    };
  }
  if (value.effort != null) ctx.warn('output_config.effort dropped: chat has no equivalent for every model');
}

/** Every Messages field and what becomes of it in a chat request. */
export const MESSAGES_TO_CHAT: FieldTable = {
  system: { write: writeSystem, doc: `${DOC}#body-system — a system message first` },
  messages: {
    write: writeMessages,
    doc: `${DOC}#body-messages — blocks → parts, tool_use/tool_result → tool calls`,
  },
  max_tokens: {
    transform: (v) => {
      if (v === 0)
        throw unsupported('max_tokens', 'of 0 only fills the prompt cache: it needs an Anthropic target.');
      return v;
    },
    // `max_tokens` rather than `max_completion_tokens`: every chat relay takes it (SiliconFlow, DeepSeek and
    // one-api document only it); OpenAI's reasoning models are the ones that want the other name.
    doc: `${DOC}#body-max-tokens → ${CHAT_DOC}#chat-create-max_tokens`,
  },
  stop_sequences: {
    param: 'stop',
    transform: (v) => (Array.isArray(v) && v.length > 0 ? v : undefined),
    doc: `${DOC}#body-stop-sequences → ${CHAT_DOC}#chat-create-stop`,
  },
  temperature: { doc: `${DOC}#body-temperature — 0–1, inside chat's 0–2` },
  top_p: { doc: `${DOC}#body-top-p` },
  // Dropped: https://docs.anthropic.com/en/api/messages#body-top-k ("only sample from the top K options") is a
  // sampling hint chat has no parameter for (https://platform.openai.com/docs/api-reference/chat/create);
  // ignoring it changes no promise about the answer.
  top_k: 'drop',
  thinking: {
    transform: (v, ctx) => {
      // Thinking is optional output (adaptive thinking may not think at all): an answer without thinking
      // blocks is still a true answer. Chat's reasoning_effort is refused by non-reasoning models.
      if (isRecord(v) && v.type !== 'disabled')
        ctx.warn('thinking dropped: chat targets return no thinking blocks');
      return undefined;
    },
    doc: 'https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking — dropped with a warning',
  },
  metadata: {
    write: (out, v) => {
      if (isRecord(v) && typeof v.user_id === 'string' && v.user_id !== '') out.user = v.user_id;
    },
    doc: `${DOC}#body-metadata-user-id → ${CHAT_DOC}#chat-create-user`,
  },
  stream: {
    write: (out, v) => {
      // include_usage: the usage chunk is where message_delta's usage comes from.
      if (v === true) Object.assign(out, { stream: true, stream_options: { include_usage: true } });
    },
    doc: `${DOC}#body-stream → ${CHAT_DOC}#chat-create-stream_options`,
  },
  tools: { transform: toolsOf, doc: `${DOC}#body-tools — client tools → function tools` },
  tool_choice: {
    write: writeToolChoice,
    doc: `${DOC}#body-tool-choice → ${CHAT_DOC}#chat-create-tool_choice`,
  },
  output_config: {
    write: writeOutputConfig,
    doc: 'https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs',
  },
  // Dropped: hints about caching, capacity and placement that do not change the answer.
  cache_control: 'drop', // https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
  service_tier: 'drop', // https://docs.anthropic.com/en/api/service-tiers — auto / standard_only, not chat's
  // https://docs.anthropic.com/en/api/messages#body-inference-geo — where Anthropic runs the request
  inference_geo: 'drop',
  speed: 'drop', // https://docs.anthropic.com/en/docs/build-with-claude/fast-mode — Anthropic's fast mode
  // https://docs.anthropic.com/en/api/messages#body-diagnostics — Anthropic's cache-miss diagnostics
  diagnostics: 'drop',
  // https://docs.anthropic.com/en/docs/build-with-claude/context-editing — Anthropic clears old tool results
  // server-side; a chat target sees them all, which changes nothing the answer promises
  context_management: 'drop',
  // Rejected: ignoring them would lie (the tools or state they name would silently be absent).
  mcp_servers: 'reject', // https://docs.anthropic.com/en/docs/agents-and-tools/mcp-connector
  // https://docs.anthropic.com/en/api/messages#body-container — code execution's container lives at Anthropic
  container: 'reject',
};

/** A validated Messages request → the chat request for a chat target, and what was dropped. */
export function chatFromMessages(body: MessagesRequest): ChatFromMessages {
  const { out, warnings } = applyFieldTable(MESSAGES_TO_CHAT, body, body.model, TARGET);
  return { chat: { model: body.model, ...out }, warnings };
}
