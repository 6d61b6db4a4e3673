/**
 * OpenAI chat request → Gemini `GenerateContentRequest` (https://ai.google.dev/api/generate-content), as a
 * field table (STYLE.md rule 2) plus the conversion of `messages` into `systemInstruction` and `contents`.
 */
import { own } from '../../json.ts';
import { type FieldContext, type FieldTable, onlyOne, setPath, stopList } from '../fields.ts';
import { imageOf, isRecord, type Json, partsOf, textOf, toolCallsOf, toolResultText } from '../messages.ts';
import { UnsupportedFieldError } from '../types.ts';
import { splitToolCallId } from './response.ts';

const DOC_CONFIG = 'https://ai.google.dev/api/generate-content#generationconfig';
const DOC_TOOLS = 'https://ai.google.dev/gemini-api/docs/function-calling';
const DOC_SIGNATURES = 'https://ai.google.dev/gemini-api/docs/thought-signatures';

/**
 * The signature Google documents for model turns it did not sign itself (history from another provider or
 * from a client that lost it): Gemini 3 answers 400 when the first function call of a model turn has none.
 */
export const FOREIGN_SIGNATURE = 'skip_thought_signature_validator';

/** Gemini 1.x/2.x (and Gemma) do not validate signatures: they get none they did not produce. */
const UNSIGNED_MODELS = /(?:gemini-[12][.-]|gemma-)/;

interface Content {
  readonly role: 'user' | 'model';
  readonly parts: Json[];
}

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** Gemini wants a MIME type with a `fileData` URI; the URL's extension is all there is to go on. */
export function imageMimeOf(url: string): string {
  const path = url.split(/[?#]/)[0] ?? '';
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (ext === undefined ? undefined : own(IMAGE_TYPES, ext)) ?? 'image/jpeg';
}

function dataUrl(url: string): { mimeType: string; data: string } | undefined {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m === null ? undefined : { mimeType: m[1] as string, data: m[2] as string };
}

/** One part of a user message → a Gemini part (text, inline bytes or a file URI). */
function userPart(p: Json, where: string): Json {
  if (p.type === 'text' && typeof p.text === 'string') return { text: p.text };
  if (p.type === 'image_url') {
    const image = imageOf(p);
    if (image?.kind === 'base64') return { inlineData: { mimeType: image.mediaType, data: image.data } };
    if (image?.kind === 'url') return { fileData: { mimeType: imageMimeOf(image.url), fileUri: image.url } };
  }
  if (p.type === 'input_audio' && isRecord(p.input_audio) && typeof p.input_audio.data === 'string') {
    const format = typeof p.input_audio.format === 'string' ? p.input_audio.format : 'wav';
    return { inlineData: { mimeType: `audio/${format}`, data: p.input_audio.data } };
  }
  if (p.type === 'file' && isRecord(p.file) && typeof p.file.file_data === 'string') {
    const inline = dataUrl(p.file.file_data);
    if (inline !== undefined) return { inlineData: inline };
  }
  throw new UnsupportedFieldError(
    where,
    `'${where}' (a '${String(p.type)}' part) is not supported by gemini.`,
  );
}

/** A tool result's text as Gemini's `response` object: a JSON object is passed as one, anything else as text. */
function resultValue(text: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      const v: unknown = JSON.parse(text);
      if (isRecord(v)) return v;
    } catch {
      // not JSON: the text it is
    }
  }
  return text;
}

/** An assistant turn → a `model` content: its text, then one `functionCall` part per tool call. */
function modelContent(
  m: Json,
  index: number,
  model: string,
  names: Map<string, string>,
): Content | undefined {
  const parts: Json[] = [];
  const text = textOf(m.content);
  if (text !== '') parts.push({ text });
  let signed = false;
  const calls: Json[] = [];
  for (const call of toolCallsOf(m, index)) {
    names.set(call.id, call.name);
    const { signature } = splitToolCallId(call.id);
    const part: Json = { functionCall: { name: call.name, args: call.input } };
    if (signature !== undefined) {
      part.thoughtSignature = signature;
      signed = true;
    }
    calls.push(part);
  }
  const first = calls[0];
  if (first !== undefined && !signed && !UNSIGNED_MODELS.test(model))
    first.thoughtSignature = FOREIGN_SIGNATURE;
  parts.push(...calls);
  return parts.length === 0 ? undefined : { role: 'model', parts };
}

/**
 * OpenAI `messages` → Gemini `systemInstruction` + `contents`. System and developer messages (wherever they
 * are) become the one system instruction; tool results become `functionResponse` parts of a `user` turn,
 * consecutive results in one turn, each named after the assistant tool call it answers.
 */
export function toGeminiContents(
  messages: unknown,
  model: string,
): { systemInstruction?: Json; contents: Content[] } {
  const system: Json[] = [];
  const contents: Content[] = [];
  const names = new Map<string, string>();
  let resultsTurn: Content | undefined;
  const list = Array.isArray(messages) ? messages : [];
  for (const [i, m] of list.entries()) {
    if (!isRecord(m)) continue;
    if (m.role === 'tool' || m.role === 'function') {
      const id = typeof m.tool_call_id === 'string' ? m.tool_call_id : undefined;
      const name =
        (id === undefined ? undefined : names.get(id)) ?? (typeof m.name === 'string' ? m.name : '');
      if (name === '') {
        const where = `messages[${i}].tool_call_id`;
        throw new UnsupportedFieldError(
          where,
          `'${where}' names no tool call of an earlier assistant message.`,
        );
      }
      const part = { functionResponse: { name, response: { content: resultValue(toolResultText(m)) } } };
      if (resultsTurn === undefined) {
        resultsTurn = { role: 'user', parts: [] };
        contents.push(resultsTurn);
      }
      resultsTurn.parts.push(part);
      continue;
    }
    resultsTurn = undefined;
    if (m.role === 'system' || m.role === 'developer') {
      const text = textOf(m.content);
      if (text !== '') system.push({ text });
    } else if (m.role === 'assistant') {
      const c = modelContent(m, i, model, names);
      if (c !== undefined) contents.push(c);
    } else {
      const parts = partsOf(m.content).map((p, j) => userPart(p, `messages[${i}].content[${j}]`));
      if (parts.length > 0) contents.push({ role: 'user', parts });
    }
  }
  return system.length === 0 ? { contents } : { systemInstruction: { parts: system }, contents };
}

/** OpenAI `tools` → one Gemini tool holding every function declaration. */
function functionDeclarations(tools: unknown): Json[] {
  const list: unknown[] = Array.isArray(tools) ? tools : [];
  return list.map((t, i) => {
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) {
      throw new UnsupportedFieldError(`tools[${i}]`, `'tools[${i}]': gemini takes function tools only.`);
    }
    const fn = t.function;
    const decl: Json = { name: fn.name };
    if (typeof fn.description === 'string') decl.description = fn.description;
    // JSON Schema as the client wrote it: `parameters` takes only an OpenAPI subset and 400s on keywords
    // such as additionalProperties or $schema, which OpenAI schemas (zod, pydantic) are full of.
    if (isRecord(fn.parameters)) decl.parametersJsonSchema = fn.parameters;
    return decl;
  });
}

const MODES: Readonly<Record<string, string>> = { auto: 'AUTO', none: 'NONE', required: 'ANY' };

function toolConfig(choice: unknown): Json {
  if (typeof choice === 'string' && MODES[choice] !== undefined) {
    return { functionCallingConfig: { mode: MODES[choice] } };
  }
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function)) {
    const name = choice.function.name;
    if (typeof name === 'string')
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
  }
  throw new UnsupportedFieldError('tool_choice', `This 'tool_choice' is not supported by gemini.`);
}

function responseFormat(out: Json, value: unknown): void {
  if (!isRecord(value) || value.type === 'text') return;
  setPath(out, 'generationConfig.responseMimeType', 'application/json');
  if (value.type !== 'json_schema') return;
  const schema = isRecord(value.json_schema) ? value.json_schema.schema : undefined;
  if (isRecord(schema)) setPath(out, 'generationConfig.responseJsonSchema', schema);
}

function parallelToolCalls(value: unknown, ctx: FieldContext): undefined {
  // Gemini may always answer with several calls: `true` is what it does anyway.
  if (value === false) ctx.warn('parallel_tool_calls false dropped: gemini cannot forbid parallel calls');
  return undefined;
}

function noLogprobs(value: unknown): undefined {
  if (value === true) throw new UnsupportedFieldError('logprobs', `'logprobs' is not supported by gemini.`);
  return undefined;
}

function textOnly(value: unknown): undefined {
  if (Array.isArray(value) && value.every((m) => m === 'text')) return undefined;
  throw new UnsupportedFieldError(
    'modalities',
    `Output 'modalities' other than text are not supported by gemini.`,
  );
}

/** Every OpenAI chat field and what becomes of it upstream. */
export const GEMINI_CHAT_FIELDS: FieldTable = {
  messages: {
    write: (out, value, ctx) => Object.assign(out, toGeminiContents(value, ctx.model)),
    doc: `https://ai.google.dev/api/caching#Content; signatures: ${DOC_SIGNATURES}`,
  },
  temperature: { param: 'generationConfig.temperature', min: 0, max: 2, doc: DOC_CONFIG },
  top_p: { param: 'generationConfig.topP', min: 0, max: 1, doc: DOC_CONFIG },
  max_tokens: { param: 'generationConfig.maxOutputTokens', doc: DOC_CONFIG },
  // After max_tokens: when both are sent, the newer field wins.
  max_completion_tokens: { param: 'generationConfig.maxOutputTokens', doc: DOC_CONFIG },
  stop: { param: 'generationConfig.stopSequences', transform: stopList, doc: DOC_CONFIG },
  n: {
    transform: onlyOne('gemini'),
    doc: `${DOC_CONFIG} candidateCount exists, but the translators write one choice (index 0)`,
  },
  presence_penalty: { param: 'generationConfig.presencePenalty', doc: DOC_CONFIG },
  frequency_penalty: { param: 'generationConfig.frequencyPenalty', doc: DOC_CONFIG },
  seed: { param: 'generationConfig.seed', doc: DOC_CONFIG },
  response_format: {
    write: (out, value) => responseFormat(out, value),
    doc: 'https://ai.google.dev/gemini-api/docs/structured-output (responseJsonSchema takes JSON Schema as sent)',
  },
  tools: {
    write: (out, value) => {
      out.tools = [{ functionDeclarations: functionDeclarations(value) }];
    },
    doc: DOC_TOOLS,
  },
  tool_choice: { param: 'toolConfig', transform: toolConfig, doc: `${DOC_TOOLS}#function_calling_modes` },
  parallel_tool_calls: { transform: parallelToolCalls, doc: DOC_TOOLS },
  // The endpoint says stream or not (streamGenerateContent?alt=sse): nothing goes in the body.
  stream: {
    transform: () => undefined,
    doc: 'https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent',
  },
  // Gemini has responseLogprobs, but its shape is not translated: an answer without them would lie.
  logprobs: { transform: noLogprobs, doc: DOC_CONFIG },
  top_logprobs: 'reject',
  audio: 'reject',
  modalities: { transform: textOnly, doc: 'audio output is not offered by generateContent' },
  logit_bias: 'drop',
  user: 'drop',
  metadata: 'drop',
  store: 'drop',
  service_tier: 'drop',
  // Thinking is configured per model generation (thinkingBudget on 2.5, thinkingLevel on 3): not guessed.
  reasoning_effort: 'drop',
};
