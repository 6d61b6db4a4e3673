/**
 * Token estimates for the Messages API, counted with the gateway's estimate tokenizer (usage/tokenizer.ts):
 * `count_tokens` for targets that have no native count (it answers `{ "input_tokens": n }`:
 * https://docs.anthropic.com/en/api/messages-count-tokens), and the output text of a forwarded stream whose
 * upstream reported no usage. Estimates only: other model families tokenize differently, and the answer's
 * header says it is one.
 */
import { isRecord, type Json } from '../../json.ts';
import { parseEvents } from '../../sse/splitter.ts';
import { imageTokensOf } from '../../usage/image-tokens.ts';
import type { TokenCounter } from '../../usage/types.ts';
import type { CountTokensRequest } from './schema.ts';

/**
 * Tokens per turn (role and separators) and to prime the reply: the chat estimate's numbers (tokenizer.ts).
 */
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
/**
 * An image at Claude's documented worst case (the client speaks Claude's API): image-tokens.ts' claude row.
 */
const IMAGE_TOKENS = imageTokensOf('anthropic', 'claude', undefined);
/**
 * A PDF page, at the upper end of "1,500–3,000 tokens per page" (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support),
 * which also holds the page's image.
 */
const PDF_PAGE_TOKENS = 3000;
/** Page objects of a PDF (`/Type /Page`, not `/Pages`): a count that needs no PDF parser. */
const PDF_PAGE = /\/Type\s*\/Page(?![a-zA-Z])/g;

/** Pages of a base64 PDF, at least one (a PDF whose pages sit in compressed object streams shows none). */
function pdfPages(base64: string): number {
  let bytes: string;
  try {
    bytes = atob(base64);
  } catch {
    return 1;
  }
  return Math.max(1, bytes.match(PDF_PAGE)?.length ?? 0);
}

function documentTokens(counter: TokenCounter, block: Json): number {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64' && typeof source.data === 'string')
    return pdfPages(source.data) * PDF_PAGE_TOKENS;
  if (source.type === 'text' && typeof source.data === 'string') return counter.count(source.data);
  if (source.type === 'content') return blocksTokens(counter, source.content);
  return PDF_PAGE_TOKENS; // a URL or Files API document: its size is not known here
}

/** Tokens of one content block: its text, tool call, tool result, image or document. */
function blockTokens(counter: TokenCounter, block: Json): number {
  switch (block.type) {
    case 'text':
      return counter.count(String(block.text ?? ''));
    case 'image':
      return IMAGE_TOKENS;
    case 'document':
      return documentTokens(counter, block);
    case 'tool_use':
      return counter.count(`${String(block.name ?? '')}${JSON.stringify(block.input ?? {})}`);
    case 'tool_result':
      return blocksTokens(counter, block.content);
    case 'thinking':
      return counter.count(String(block.thinking ?? ''));
    case 'redacted_thinking':
      return 0; // encrypted: its size says nothing about its tokens
    default:
      return counter.count(JSON.stringify(block)); // server-tool blocks and types added later, by their JSON
  }
}

/** Tokens of a content: a string, or a list of blocks. */
function blocksTokens(counter: TokenCounter, content: unknown): number {
  if (typeof content === 'string') return counter.count(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const block of content) if (isRecord(block)) tokens += blockTokens(counter, block);
  return tokens;
}

/**
 * The input tokens of a Messages (or count_tokens) request, as `count_tokens` answers them: the system
 * prompt, every turn's blocks, and the tool definitions.
 */
export function estimateMessagesTokens(
  counter: TokenCounter,
  body: Readonly<Pick<CountTokensRequest, 'messages' | 'system' | 'tools'>>,
): { input_tokens: number } {
  let tokens = REPLY_PRIMING + blocksTokens(counter, body.system);
  for (const m of body.messages) tokens += PER_MESSAGE + blocksTokens(counter, m.content);
  if (body.tools !== undefined && body.tools.length > 0) tokens += counter.count(JSON.stringify(body.tools));
  return { input_tokens: tokens };
}

/**
 * The text the model produced in forwarded Messages events (text, tool names and inputs, thinking), for an
 * output estimate when the upstream reported no usage.
 */
export function messagesOutputText(forwarded: readonly string[]): string {
  let text = '';
  for (const chunk of forwarded) {
    for (const ev of parseEvents(chunk)) {
      let d: unknown;
      try {
        d = JSON.parse(ev.data);
      } catch {
        continue; // not an event of the Messages API
      }
      if (!isRecord(d)) continue;
      if (d.type === 'content_block_start' && isRecord(d.content_block)) {
        const b = d.content_block;
        if (typeof b.text === 'string') text += b.text;
        if (b.type === 'tool_use' && typeof b.name === 'string') text += b.name;
      } else if (d.type === 'content_block_delta' && isRecord(d.delta)) {
        for (const field of ['text', 'partial_json', 'thinking']) {
          const v = d.delta[field];
          if (typeof v === 'string') text += v;
        }
      }
    }
  }
  return text;
}
