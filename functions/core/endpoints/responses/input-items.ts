/**
 * Responses items → chat messages, for a target that speaks only chat. A conversation is the earlier turns'
 * items (as the store of responses gives them: each response's input items, then its output items) followed
 * by this request's `input`. Function calls join the assistant turn before them, as chat puts `tool_calls` on
 * the assistant message; each `function_call_output` is a `tool` message.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 */
import { isRecord, type Json } from '../../json.ts';
import { UnsupportedFieldError } from '../../providers/types.ts';

const TARGET = 'a chat target';

/** An item and the param a refusal names: `input[3]`, or `previous_response_id` for an earlier turn's item. */
interface Placed {
  readonly item: Json;
  readonly where: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function refuse(param: string, why: string): never {
  throw new UnsupportedFieldError(param, `'${param}' cannot be sent to ${TARGET}: ${why}.`);
}

/** Chat's image `detail` takes these; Responses' `original` has no chat equivalent and is left to the default. */
const CHAT_DETAIL: ReadonlySet<string> = new Set(['auto', 'low', 'high']);

/** One part of a user, system or developer message → a chat content part. */
function inputPart(part: Json, where: string, mediaAllowed: boolean): Json {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: str(part.text) ?? '' };
    case 'input_image': {
      if (!mediaAllowed) refuse(`${where}.type`, 'images go in user messages only');
      const url = str(part.image_url);
      if (url === undefined) refuse(`${where}.file_id`, 'files uploaded to OpenAI are not available to it');
      const detail = str(part.detail);
      return { type: 'image_url', image_url: detail && CHAT_DETAIL.has(detail) ? { url, detail } : { url } };
    }
    case 'input_file': {
      if (!mediaAllowed) refuse(`${where}.type`, 'files go in user messages only');
      const data = str(part.file_data);
      if (data === undefined) {
        const which = part.file_url !== undefined ? 'file_url' : 'file_id';
        refuse(`${where}.${which}`, 'only a file sent inline (file_data) is translated');
      }
      const filename = str(part.filename);
      return {
        type: 'file',
        file: filename === undefined ? { file_data: data } : { filename, file_data: data },
      };
    }
    default:
      return refuse(`${where}.type`, 'only text, image and inline file parts are translated');
  }
}

/** A chat content: one text part is a plain string (every chat target takes it); else the parts. */
function contentOf(parts: readonly Json[]): string | Json[] {
  const only = parts[0];
  return parts.length === 1 && only?.type === 'text' ? (only.text as string) : [...parts];
}

/** An assistant message's parts as text (chat assistant turns are text; a refusal is kept as what was said). */
function assistantText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: unknown, j) => {
      const part = isRecord(p) ? p : {};
      if (part.type === 'output_text' || part.type === 'input_text') return str(part.text) ?? '';
      if (part.type === 'refusal') return str(part.refusal) ?? '';
      return refuse(`${where}.content[${j}].type`, 'an assistant message holds text only');
    })
    .join('');
}

/** A function call's output → the text of a `tool` message (chat tool messages take text only). */
function outputText(output: unknown, where: string): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return '';
  return output
    .map((p: unknown, k) => {
      const part = isRecord(p) ? p : {};
      if (part.type === 'input_text' || part.type === 'output_text') return str(part.text) ?? '';
      return refuse(`${where}.output[${k}].type`, 'a chat tool message holds text only');
    })
    .join('');
}

/** Builds the message list, joining function calls to the assistant turn they follow. */
class ChatMessages {
  readonly messages: Json[] = [];
  /** The assistant message function calls may still join (the last message, when it is one). */
  private assistant: Json | undefined;

  push(message: Json): void {
    this.messages.push(message);
    this.assistant = message.role === 'assistant' ? message : undefined;
  }

  message(item: Json, where: string): void {
    const role = item.role === 'developer' ? 'system' : item.role;
    if (role === 'assistant') {
      this.push({ role, content: assistantText(item.content, where) });
      return;
    }
    if (role !== 'user' && role !== 'system') refuse(`${where}.role`, 'unknown role');
    if (typeof item.content === 'string') {
      this.push({ role, content: item.content });
      return;
    }
    const list: unknown[] = Array.isArray(item.content) ? item.content : [];
    const parts = list.map((p, j) =>
      inputPart(isRecord(p) ? p : {}, `${where}.content[${j}]`, role === 'user'),
    );
    this.push({ role, content: contentOf(parts) });
  }

  functionCall(item: Json, where: string): void {
    const callId = str(item.call_id);
    const name = str(item.name);
    if (callId === undefined) refuse(`${where}.call_id`, 'a function call needs its call_id');
    if (name === undefined) refuse(`${where}.name`, 'a function call needs its name');
    const call = { id: callId, type: 'function', function: { name, arguments: str(item.arguments) ?? '' } };
    const turn = this.assistant;
    if (turn !== undefined) {
      turn.tool_calls = [...(Array.isArray(turn.tool_calls) ? turn.tool_calls : []), call];
      // Chat's own shape for a turn that is only tool calls.
      if (turn.content === '') turn.content = null;
      return;
    }
    this.push({ role: 'assistant', content: null, tool_calls: [call] });
  }

  functionOutput(item: Json, where: string): void {
    const callId = str(item.call_id);
    if (callId === undefined) refuse(`${where}.call_id`, 'a function call output needs its call_id');
    this.push({ role: 'tool', tool_call_id: callId, content: outputText(item.output, where) });
  }
}

/**
 * The items an `item_reference` may name, by id: the earlier turns' (only items that have an id), then those
 * the gateway resolved from its store (references.ts).
 */
function byId(previous: readonly Json[], referenced: ReadonlyMap<string, Json>): Map<string, Json> {
  const index = new Map<string, Json>(referenced);
  for (const item of previous) if (typeof item.id === 'string') index.set(item.id, item);
  return index;
}

/**
 * The chat messages of a conversation: `previous` (earlier turns' items, oldest first) then `input` (a string
 * is one user message). `referenced` holds items named by the input's references that the gateway read from
 * its store. Throws {@link UnsupportedFieldError} naming the item a chat target cannot take; items that are
 * safe to leave out (reasoning) are dropped with a warning.
 */
export function messagesFromItems(
  previous: readonly Json[],
  input: unknown,
  warn: (message: string) => void,
  referenced: ReadonlyMap<string, Json> = new Map(),
): Json[] {
  const out = new ChatMessages();
  for (const item of previous) convert(out, { item, where: 'previous_response_id' }, undefined, warn);
  if (typeof input === 'string') {
    out.push({ role: 'user', content: input });
    return out.messages;
  }
  const index = byId(previous, referenced);
  const list: unknown[] = Array.isArray(input) ? input : [];
  list.forEach((item, i) => {
    convert(out, { item: isRecord(item) ? item : {}, where: `input[${i}]` }, index, warn);
  });
  return out.messages;
}

function convert(
  out: ChatMessages,
  { item, where }: Placed,
  index: Map<string, Json> | undefined,
  warn: (message: string) => void,
): void {
  switch (item.type ?? 'message') {
    case 'message':
      out.message(item, where);
      return;
    case 'function_call':
      out.functionCall(item, where);
      return;
    case 'function_call_output':
      out.functionOutput(item, where);
      return;
    case 'item_reference': {
      const id = str(item.id);
      const found = id === undefined ? undefined : index?.get(id);
      // A stored item is never itself a reference: one step, no loop.
      if (found === undefined || found.type === 'item_reference') {
        refuse(`${where}.id`, 'the item is not among the stored earlier turns of this conversation');
      }
      convert(out, { item: found, where }, undefined, warn);
      return;
    }
    case 'reasoning':
      // The model's own reasoning of an earlier turn (often encrypted): the answer stays valid without it.
      warn(`${where} dropped: a reasoning item cannot be sent to ${TARGET}`);
      return;
    default:
      refuse(`${where}.type`, 'only messages, function calls and their outputs are translated');
  }
}
