/**
 * OpenAI chat request → Anthropic Messages request, as a field table (STYLE.md rule 2) plus the messages
 * conversion: system/developer turns become the top-level `system`, tool calls `tool_use` blocks, tool
 * messages `tool_result` blocks, and JSON mode a forced tool whose input is the answer.
 */
import { type FieldContext, type FieldTable, type Json, onlyOne, stopList } from '../fields.ts';
import { imageOf, isRecord, partsOf, textOf, toolCallsOf, toolResultText } from '../messages.ts';
import { UnsupportedFieldError } from '../types.ts';

const DOC = 'https://docs.anthropic.com/en/api/messages';
const PROVIDER = 'Anthropic';

/** Anthropic requires `max_tokens`; used when neither the client nor the provider config sets one. */
export const DEFAULT_MAX_TOKENS = 4096;

/** The tool JSON mode forces: its input is the answer the client gets as `message.content`. */
export interface JsonTool {
  readonly name: string;
  readonly description: string;
  readonly schema: Json;
}

/** The forced tool of a `response_format` asking for JSON (undefined for text answers). */
export function jsonToolOf(body: Readonly<Json>): JsonTool | undefined {
  const rf = body.response_format;
  if (!isRecord(rf)) return undefined;
  if (rf.type === 'json_object') {
    return { name: 'json_answer', description: 'Answer with a JSON object.', schema: { type: 'object' } };
  }
  if (rf.type !== 'json_schema') return undefined;
  const js = isRecord(rf.json_schema) ? rf.json_schema : {};
  const name = typeof js.name === 'string' && js.name !== '' ? js.name : 'json_answer';
  return {
    name,
    description:
      typeof js.description === 'string'
        ? js.description
        : `Answer with JSON that matches the ${name} schema.`,
    schema: isRecord(js.schema) ? js.schema : { type: 'object' },
  };
}

// ---- messages ----

type Role = 'user' | 'assistant';
interface Turn {
  role: Role;
  content: Json[];
}

function userBlock(part: Json, where: string): Json | undefined {
  if (part.type === 'text') {
    // Anthropic refuses empty text blocks.
    return typeof part.text === 'string' && part.text !== '' ? { type: 'text', text: part.text } : undefined;
  }
  if (part.type === 'image_url') {
    const img = imageOf(part);
    if (img === undefined)
      throw new UnsupportedFieldError(`${where}.image_url`, `'${where}.image_url' has no url.`);
    return {
      type: 'image',
      source:
        img.kind === 'base64'
          ? { type: 'base64', media_type: img.mediaType, data: img.data }
          : { type: 'url', url: img.url },
    };
  }
  // A PDF sent inline (`file.file_data` as a data URL) is an Anthropic document block.
  const file = part.type === 'file' && isRecord(part.file) ? part.file : undefined;
  const data = typeof file?.file_data === 'string' ? file.file_data : '';
  const m = /^data:(application\/pdf);base64,(.*)$/s.exec(data);
  if (m !== null) return { type: 'document', source: { type: 'base64', media_type: m[1], data: m[2] } };
  throw new UnsupportedFieldError(
    `${where}.type`,
    `'${String(part.type)}' content parts are not supported by ${PROVIDER} (text, images and inline PDFs are).`,
  );
}

/**
 * OpenAI messages → `system` text and Anthropic turns. Consecutive turns of one role are merged (Anthropic
 * merges them too), so the tool results of one assistant turn form one user turn, results first.
 */
export function convertMessages(value: unknown): { system?: string; messages: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const add = (role: Role, blocks: Json[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  const list: unknown[] = Array.isArray(value) ? value : [];
  list.forEach((m, i) => {
    if (!isRecord(m)) return;
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content);
        if (text !== '') system.push(text);
        return;
      }
      case 'user': {
        const blocks: Json[] = [];
        partsOf(m.content).forEach((p, j) => {
          const b = userBlock(p, `messages[${i}].content[${j}]`);
          if (b !== undefined) blocks.push(b);
        });
        add('user', blocks);
        return;
      }
      case 'assistant': {
        const text = textOf(m.content);
        const blocks: Json[] = text === '' ? [] : [{ type: 'text', text }];
        for (const c of toolCallsOf(m, i))
          blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
        add('assistant', blocks);
        return;
      }
      case 'tool':
        add('user', [
          { type: 'tool_result', tool_use_id: String(m.tool_call_id ?? ''), content: toolResultText(m) },
        ]);
        return;
      default:
        throw new UnsupportedFieldError(
          `messages[${i}].role`,
          `Role '${String(m.role)}' is not supported by ${PROVIDER}: send tool calls as 'tools'.`,
        );
    }
  });
  return system.length === 0 ? { messages: turns } : { system: system.join('\n\n'), messages: turns };
}

// ---- tools ----

function hasTools(body: Readonly<Json>): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0;
}

function toolsOf(value: unknown): Json[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((t: unknown, i) => {
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) {
      throw new UnsupportedFieldError(
        `tools[${i}].type`,
        `Only function tools are supported by ${PROVIDER}.`,
      );
    }
    const fn = t.function;
    const tool: Json = {
      name: fn.name,
      input_schema: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') tool.description = fn.description;
    return tool;
  });
}

function toolChoiceOf(value: unknown, ctx: FieldContext): Json | undefined {
  // Anthropic refuses a tool_choice without tools; OpenAI lets it pass.
  if (!hasTools(ctx.body)) return undefined;
  if (value === 'none') return { type: 'none' };
  let choice: Json;
  if (value === 'auto') choice = { type: 'auto' };
  else if (value === 'required') choice = { type: 'any' };
  else if (isRecord(value) && isRecord(value.function) && typeof value.function.name === 'string') {
    choice = { type: 'tool', name: value.function.name };
  } else {
    throw new UnsupportedFieldError('tool_choice', `This tool_choice is not supported by ${PROVIDER}.`);
  }
  if (ctx.body.parallel_tool_calls === false) choice.disable_parallel_tool_use = true;
  return choice;
}

/** JSON mode: the answer tool joins the client's tools, and a tool call is required. */
function writeJsonMode(out: Json, _value: unknown, ctx: FieldContext): void {
  const jt = jsonToolOf(ctx.body);
  if (jt === undefined) return;
  const tools = Array.isArray(out.tools) ? (out.tools as Json[]) : [];
  if (tools.some((t) => t.name === jt.name)) {
    throw new UnsupportedFieldError(
      'response_format',
      `The JSON schema name '${jt.name}' is also a tool's name: ${PROVIDER} answers JSON through a tool of that name.`,
    );
  }
  out.tools = [...tools, { name: jt.name, description: jt.description, input_schema: jt.schema }];
  const choice = isRecord(out.tool_choice) ? out.tool_choice : undefined;
  if (choice?.type === 'tool') return; // the client forced one of its tools: that call is the answer
  if (tools.length === 0 || choice?.type === 'none') {
    out.tool_choice = { type: 'tool', name: jt.name, disable_parallel_tool_use: true };
  } else {
    // Either one of the client's tools or the answer tool, as OpenAI answers either tool calls or JSON.
    out.tool_choice = { ...choice, type: 'any' };
  }
}

/** Accepts only the value that asks for nothing (`false`, `0`): there are no log probabilities. */
const onlyOff =
  (field: string) =>
  (value: unknown): undefined => {
    if (value !== false && value !== 0) {
      throw new UnsupportedFieldError(field, `'${field}' is not supported by ${PROVIDER}.`);
    }
    return undefined;
  };

/**
 * Every OpenAI chat field and what becomes of it for Anthropic. Row order matters where rows build one
 * Anthropic field together: tools → tool_choice → parallel_tool_calls → response_format.
 */
export function anthropicFields(defaultMaxTokens: number = DEFAULT_MAX_TOKENS): FieldTable {
  return {
    messages: {
      write: (out, value) => {
        const { system, messages } = convertMessages(value);
        if (system !== undefined) out.system = system;
        out.messages = messages;
      },
      doc: `${DOC}#body-messages — system/developer turns go to the top-level \`system\` (#body-system)`,
    },
    max_tokens: {
      default: (ctx: FieldContext) => (ctx.body.max_completion_tokens == null ? defaultMaxTokens : undefined),
      doc: `${DOC}#body-max-tokens — required: provider.maxTokens, else ${DEFAULT_MAX_TOKENS}, when unset`,
    },
    max_completion_tokens: { param: 'max_tokens', doc: `${DOC}#body-max-tokens — wins over max_tokens` },
    stop: { param: 'stop_sequences', transform: stopList, doc: `${DOC}#body-stop-sequences` },
    temperature: { min: 0, max: 1, doc: `${DOC}#body-temperature — range 0–1 (OpenAI's 0–2 is clamped)` },
    top_p: { doc: `${DOC}#body-top-p` },
    user: { param: 'metadata.user_id', doc: `${DOC}#body-metadata-user-id` },
    safety_identifier: { param: 'metadata.user_id', doc: `${DOC}#body-metadata-user-id — wins over user` },
    stream: { doc: `${DOC}#body-stream` },
    n: { transform: onlyOne(PROVIDER), doc: `${DOC} — one answer per call: only n = 1` },
    tools: { transform: toolsOf, doc: `${DOC}#body-tools — {name, description, input_schema}` },
    tool_choice: { transform: toolChoiceOf, doc: `${DOC}#body-tool-choice — auto / any / tool / none` },
    parallel_tool_calls: {
      write: (out, value, ctx) => {
        if (value === false && hasTools(ctx.body) && out.tool_choice === undefined) {
          out.tool_choice = { type: 'auto', disable_parallel_tool_use: true };
        }
      },
      doc: `${DOC}#body-tool-choice-disable-parallel-tool-use`,
    },
    response_format: {
      write: writeJsonMode,
      doc: 'https://docs.anthropic.com/en/docs/build-with-claude/tool-use#json-mode — a forced tool',
    },
    logprobs: { transform: onlyOff('logprobs'), doc: 'Anthropic returns no log probabilities' },
    top_logprobs: { transform: onlyOff('top_logprobs'), doc: 'Anthropic returns no log probabilities' },
    modalities: {
      transform: (v) => {
        if (Array.isArray(v) && v.some((m) => m !== 'text')) {
          throw new UnsupportedFieldError('modalities', `${PROVIDER} answers text only.`);
        }
        return undefined;
      },
      doc: `${DOC} — text output only`,
    },
    // Rejected: ignoring them would lie to the client.
    audio: 'reject', // Anthropic has no audio output
    functions: 'reject', // legacy function calling: send `tools` (translated above)
    function_call: 'reject', // legacy function calling: send `tool_choice`
    web_search_options: 'reject', // Anthropic's web search is a server tool, not this option
    // Dropped with a warning: sampling hints and OpenAI-side features with no Anthropic equivalent.
    presence_penalty: 'drop', // no such parameter in the Messages API
    frequency_penalty: 'drop', // no such parameter
    seed: 'drop', // Anthropic sampling is not seedable
    logit_bias: 'drop', // no such parameter
    metadata: 'drop', // OpenAI stored-completion tags; Anthropic metadata holds only user_id
    store: 'drop', // OpenAI stored completions
    service_tier: 'drop', // Anthropic's service_tier values (auto, standard_only) differ from OpenAI's
    reasoning_effort: 'drop', // extended thinking needs a token budget and changes the answer's shape
    prediction: 'drop', // OpenAI predicted outputs, a latency hint
    prompt_cache_key: 'drop', // Anthropic caches by cache_control breakpoints instead
    verbosity: 'drop', // no such parameter
  };
}
