/**
 * OpenAI chat request → the input of Bedrock's Converse / ConverseStream, as JSON (without `modelId`: the
 * path carries it). Every OpenAI field is a row of {@link BEDROCK_FIELDS}; messages become `system` plus
 * alternating user/assistant turns, and tools, tool choice and JSON mode become one `toolConfig`
 * ({@link toolConfigOf}). Images travel as base64 text in `source.bytes`; the transport makes it bytes.
 */
import {
  applyFieldTable,
  type FieldContext,
  type FieldTable,
  type Json,
  onlyOne,
  stopList,
} from '../fields.ts';
import { imageOf, isRecord, partsOf, toolCallsOf, toolResultText } from '../messages.ts';
import { UnsupportedFieldError } from '../types.ts';

const API = 'https://docs.aws.amazon.com/bedrock/latest/APIReference';
const CONVERSE_DOC = `${API}/API_runtime_Converse.html`;
const INFERENCE_DOC = `${API}/API_runtime_InferenceConfiguration.html`;
const TOOLS_DOC = `${API}/API_runtime_ToolConfiguration.html`;
const PROVIDER = 'Bedrock';

/** Name of the forced tool that carries a JSON-mode answer when the schema names none. */
export const JSON_TOOL = 'json_response';

/**
 * `image/<type>` → Converse ImageBlock `format`:
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
 */
const IMAGE_FORMATS: ReadonlyMap<string, string> = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/jpg', 'jpeg'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
]);

interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

/** Appends blocks to the last turn when it has the same role: Converse wants the two roles to take turns. */
function addTurn(turns: Turn[], role: Turn['role'], content: Json[]): void {
  if (content.length === 0) return;
  const last = turns.at(-1);
  if (last !== undefined && last.role === role) last.content.push(...content);
  else turns.push({ role, content });
}

function imageBlock(part: Json, where: string): Json {
  const image = imageOf(part);
  if (image === undefined) throw new UnsupportedFieldError(where, `'${where}' has no image URL.`);
  if (image.kind === 'url') {
    throw new UnsupportedFieldError(
      where,
      `'${where}': Bedrock takes images as bytes, not URLs; send a data: URL (base64).`,
    );
  }
  const format = IMAGE_FORMATS.get(image.mediaType.toLowerCase());
  if (format === undefined) {
    throw new UnsupportedFieldError(where, `'${where}': Bedrock takes png, jpeg, gif or webp images.`);
  }
  return { image: { format, source: { bytes: image.data } } };
}

/** A user (or system) content: text and image parts; anything else cannot be sent to Converse. */
function userBlocks(content: unknown, at: number, images: boolean): Json[] {
  return partsOf(content).map((part, j) => {
    const where = `messages[${at}].content[${j}]`;
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && images) return imageBlock(part, where);
    throw new UnsupportedFieldError(where, `'${where}' (${String(part.type)}) is not supported by Bedrock.`);
  });
}

function assistantBlocks(m: Json, at: number): Json[] {
  const blocks: Json[] = [];
  for (const part of partsOf(m.content)) {
    const text = part.type === 'refusal' ? part.refusal : part.text;
    if (typeof text === 'string' && text !== '') blocks.push({ text });
  }
  for (const call of toolCallsOf(m, at)) {
    blocks.push({ toolUse: { toolUseId: call.id, name: call.name, input: call.input } });
  }
  return blocks;
}

function toolResultBlock(m: Json, at: number): Json {
  if (typeof m.tool_call_id !== 'string') {
    const where = `messages[${at}].tool_call_id`;
    throw new UnsupportedFieldError(where, `'${where}' is required for a tool message.`);
  }
  const text = toolResultText(m);
  return { toolResult: { toolUseId: m.tool_call_id, content: text === '' ? [] : [{ text }] } };
}

/** OpenAI messages → Converse `system` blocks and alternating turns. */
export function converseMessages(value: unknown, ctx: FieldContext): { system: Json[]; turns: Turn[] } {
  const system: Json[] = [];
  const turns: Turn[] = [];
  const list = Array.isArray(value) ? value : [];
  let named = false;
  list.forEach((m: unknown, i) => {
    if (!isRecord(m)) throw new UnsupportedFieldError(`messages[${i}]`, `'messages[${i}]' is not a message.`);
    if (m.name !== undefined) named = true;
    if (m.role === 'system' || m.role === 'developer') system.push(...userBlocks(m.content, i, false));
    else if (m.role === 'user') addTurn(turns, 'user', userBlocks(m.content, i, true));
    else if (m.role === 'assistant') addTurn(turns, 'assistant', assistantBlocks(m, i));
    else if (m.role === 'tool') addTurn(turns, 'user', [toolResultBlock(m, i)]);
    else {
      const where = `messages[${i}].role`;
      throw new UnsupportedFieldError(where, `'${where}' ${String(m.role)} is not supported by Bedrock.`);
    }
  });
  if (named) ctx.warn('messages[].name dropped: Bedrock has no equivalent');
  return { system, turns };
}

/** Names of the tools the conversation already used (Converse needs them declared in `toolConfig`). */
function historyToolNames(turns: readonly Turn[]): { names: Set<string>; any: boolean } {
  const names = new Set<string>();
  let any = false;
  for (const t of turns) {
    for (const b of t.content) {
      if (isRecord(b.toolUse) && typeof b.toolUse.name === 'string') names.add(b.toolUse.name);
      if (b.toolUse !== undefined || b.toolResult !== undefined) any = true;
    }
  }
  return { names, any };
}

function toolSpecs(value: unknown, ctx: FieldContext): Json[] {
  if (!Array.isArray(value)) return [];
  let strict = false;
  const specs = value.map((t: unknown, i) => {
    const fn = isRecord(t) && t.type === 'function' && isRecord(t.function) ? t.function : undefined;
    if (fn === undefined || typeof fn.name !== 'string') {
      throw new UnsupportedFieldError(`tools[${i}]`, `'tools[${i}]': Bedrock takes function tools only.`);
    }
    if (fn.strict === true) strict = true;
    const spec: Json = {
      name: fn.name,
      inputSchema: { json: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } },
    };
    if (typeof fn.description === 'string' && fn.description !== '') spec.description = fn.description;
    return { toolSpec: spec };
  });
  if (strict) ctx.warn('tools[].function.strict dropped: not every Bedrock model accepts it');
  return specs;
}

type Choice = 'auto' | 'none' | 'required' | { name: string } | undefined;

function choiceOf(value: unknown): Choice {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (isRecord(value) && isRecord(value.function) && typeof value.function.name === 'string') {
    return { name: value.function.name };
  }
  throw new UnsupportedFieldError('tool_choice', "'tool_choice' must be auto, none, required or a function.");
}

/** `response_format` JSON mode as the spec of the tool that carries the answer; undefined for text. */
function jsonToolOf(value: unknown): Json | undefined {
  if (!isRecord(value) || value.type === 'text') return undefined;
  if (value.type === 'json_object') {
    return {
      name: JSON_TOOL,
      description: 'Answer with a JSON object.',
      inputSchema: { json: { type: 'object' } },
    };
  }
  const js = value.type === 'json_schema' && isRecord(value.json_schema) ? value.json_schema : undefined;
  if (js === undefined) {
    throw new UnsupportedFieldError(
      'response_format',
      "'response_format' must be text, json_object or json_schema.",
    );
  }
  return {
    name: typeof js.name === 'string' && js.name !== '' ? js.name : JSON_TOOL,
    description:
      typeof js.description === 'string' ? js.description : 'Answer with JSON that fits this schema.',
    inputSchema: { json: isRecord(js.schema) ? js.schema : { type: 'object' } },
  };
}

/**
 * `tools` + `tool_choice` + `response_format` → Converse `toolConfig`, and the name of the JSON-mode tool
 * (its input is the answer). Converse has no "none" choice, and needs `toolConfig` whenever the conversation
 * holds toolUse/toolResult blocks: 'none' leaves the tools out when it can, and keeps them (with a warning)
 * when the history needs them. JSON mode is a forced tool, as Anthropic recommends; beside the client's own
 * tools with tool_choice auto it becomes `any` over them all (either a real tool call or the JSON answer).
 */
export function toolConfigOf(
  body: Readonly<Json>,
  turns: readonly Turn[],
  ctx: FieldContext,
): { toolConfig?: Json; jsonTool?: string } {
  const choice = choiceOf(body.tool_choice);
  const history = historyToolNames(turns);
  let tools = toolSpecs(body.tools, ctx);
  if (choice === 'none' && tools.length > 0) {
    if (history.any) {
      ctx.warn(
        "tool_choice 'none' cannot be expressed for Bedrock with tool calls in the history: tools kept",
      );
    } else tools = [];
  }
  let toolChoice: Json | undefined;
  if (choice === 'auto') toolChoice = { auto: {} };
  else if (choice === 'required') toolChoice = { any: {} };
  else if (typeof choice === 'object') toolChoice = { tool: { name: choice.name } };
  const json = jsonToolOf(body.response_format);
  let jsonTool: string | undefined;
  if (json !== undefined) {
    if (choice === 'required' || typeof choice === 'object') {
      ctx.warn('response_format ignored: tool_choice forces a tool call');
    } else {
      const clientTools = tools.length;
      tools = [...tools, { toolSpec: json }];
      jsonTool = json.name as string;
      toolChoice = clientTools === 0 ? { tool: { name: jsonTool } } : { any: {} };
    }
  }
  const declared = new Set(tools.map((t) => (t.toolSpec as Json).name));
  const missing = [...history.names].filter((n) => !declared.has(n));
  if (missing.length > 0) {
    ctx.warn(`tools declared for the history (Bedrock needs them): ${missing.join(', ')}`);
    for (const name of missing) {
      tools.push({ toolSpec: { name, inputSchema: { json: { type: 'object', properties: {} } } } });
    }
  }
  if (tools.length === 0) return {};
  const toolConfig: Json = { tools };
  if (toolChoice !== undefined) toolConfig.toolChoice = toolChoice;
  return jsonTool === undefined ? { toolConfig } : { toolConfig, jsonTool };
}

/** Rejects a value that asks for something Bedrock cannot do; a false/empty value asks for nothing. */
function rejectWhen(field: string, asks: (v: unknown) => boolean, why: string) {
  return (value: unknown): undefined => {
    if (asks(value))
      throw new UnsupportedFieldError(field, `'${field}' is not supported by Bedrock: ${why}.`);
    return undefined;
  };
}

/** Read by {@link toolConfigOf} together; the rows only check and document them. */
const TOOL_ROW = { transform: () => undefined, doc: `toolConfig, built by toolConfigOf: ${TOOLS_DOC}` };

export const BEDROCK_FIELDS: FieldTable = {
  messages: {
    write: (out, value, ctx) => {
      const { system, turns } = converseMessages(value, ctx);
      if (system.length > 0) out.system = system;
      out.messages = turns;
    },
    doc: `system + messages (user/assistant alternate; tool results are user turns): ${CONVERSE_DOC}`,
  },
  stream: { transform: () => undefined, doc: 'the path says it: /converse-stream (ConverseStream)' },
  max_tokens: { param: 'inferenceConfig.maxTokens', min: 1, doc: INFERENCE_DOC },
  // After max_tokens: the newer field wins when both are sent.
  max_completion_tokens: { param: 'inferenceConfig.maxTokens', min: 1, doc: INFERENCE_DOC },
  temperature: {
    param: 'inferenceConfig.temperature',
    min: 0,
    max: 1,
    doc: `0..1 (OpenAI 0..2): ${INFERENCE_DOC}`,
  },
  top_p: { param: 'inferenceConfig.topP', min: 0, max: 1, doc: INFERENCE_DOC },
  stop: { param: 'inferenceConfig.stopSequences', transform: stopList, doc: INFERENCE_DOC },
  n: { transform: onlyOne(PROVIDER), doc: 'Converse returns one message per call' },
  tools: TOOL_ROW,
  tool_choice: TOOL_ROW,
  response_format: TOOL_ROW,
  parallel_tool_calls: {
    transform: (v, ctx) => {
      if (v === false) ctx.warn('parallel_tool_calls false dropped: Converse has no switch for it');
      return undefined;
    },
    doc: TOOLS_DOC,
  },
  logprobs: {
    transform: rejectWhen('logprobs', (v) => v === true, 'Converse returns no log probabilities'),
    doc: `no logprobs in ConverseResponse: ${CONVERSE_DOC}`,
  },
  top_logprobs: {
    transform: rejectWhen('top_logprobs', (v) => v !== 0, 'Converse returns no log probabilities'),
    doc: `no logprobs in ConverseResponse: ${CONVERSE_DOC}`,
  },
  modalities: {
    transform: rejectWhen(
      'modalities',
      (v) => Array.isArray(v) && v.some((m) => m !== 'text'),
      'Converse answers with text only',
    ),
    doc: `text output only: ${CONVERSE_DOC}`,
  },
  // Ignoring these would give the client something else than it asked for (audio, a web search, the
  // legacy function-calling fields, which `tools` replaces): rejected, so another target may take them.
  audio: 'reject',
  web_search_options: 'reject',
  functions: 'reject',
  function_call: 'reject',
  // No Converse equivalent, and an answer without them is still the answer asked for: dropped with a
  // warning (penalties, seed and logit_bias are sampling hints; user, store and metadata are OpenAI's
  // bookkeeping; prediction only speeds OpenAI up; service_tier and reasoning_effort are per-model
  // settings of Bedrock, outside Converse's common fields).
  frequency_penalty: 'drop',
  presence_penalty: 'drop',
  seed: 'drop',
  logit_bias: 'drop',
  user: 'drop',
  store: 'drop',
  metadata: 'drop',
  prediction: 'drop',
  service_tier: 'drop',
  reasoning_effort: 'drop',
};

/** The Converse input of a chat request, its warnings, and the JSON-mode tool the answer comes in, if any. */
export function converseInput(
  body: Readonly<Json>,
  model: string,
  defaultMaxTokens: number | undefined,
): { input: Json; warnings: string[]; jsonTool?: string } {
  const { out, warnings } = applyFieldTable(BEDROCK_FIELDS, body, model, PROVIDER);
  const ctx: FieldContext = { body, model, warn: (m) => warnings.push(m) };
  const turns = Array.isArray(out.messages) ? (out.messages as Turn[]) : [];
  const { toolConfig, jsonTool } = toolConfigOf(body, turns, ctx);
  if (toolConfig !== undefined) out.toolConfig = toolConfig;
  const inference = isRecord(out.inferenceConfig) ? out.inferenceConfig : undefined;
  if (defaultMaxTokens !== undefined && inference?.maxTokens === undefined) {
    out.inferenceConfig = { ...inference, maxTokens: defaultMaxTokens };
  }
  return jsonTool === undefined ? { input: out, warnings } : { input: out, warnings, jsonTool };
}
