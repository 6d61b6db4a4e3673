/**
 * The body of `POST /v1/responses` (OpenAI's Responses API), checked once at the edge. Loose like every
 * request schema of the gateway: fields it does not know are kept (a native target gets them as sent), and the
 * fields it does know must have the right types. Names and lists from outside are bounded here, before a name
 * reaches a log line, the ledger or the store of responses.
 * https://platform.openai.com/docs/api-reference/responses/create
 */
import * as z from 'zod';
import { MAX_NAME_LENGTH, name } from '../../schemas/openai.ts';

/**
 * Items of one request's `input`. A long agent conversation (Codex sends every turn's tool calls and outputs)
 * holds thousands; the body's own bound (6 MiB) bounds their bytes, this bounds the work per item.
 */
export const MAX_INPUT_ITEMS = 10_000;
/** Content parts of one message. */
export const MAX_CONTENT_PARTS = 1_000;
/** Tools offered in one request (OpenAI documents 128 functions for chat; relays accept more). */
export const MAX_TOOLS = 512;
/** OpenAI's own bounds of `metadata`: 16 pairs, keys ≤ 64 characters, values ≤ 512. */
const METADATA_PAIRS = 16;

const kind = z.string().max(MAX_NAME_LENGTH);
const part = z.looseObject({ type: kind });

/**
 * One input item. Only the fields every item type shares a meaning for are typed: items of other types (a
 * computer call's output, an MCP approval) go to a native target as they came.
 */
const inputItem = z.looseObject({
  type: kind.optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']).optional(),
  content: z.union([z.string(), z.array(part).max(MAX_CONTENT_PARTS)]).optional(),
  id: kind.nullable().optional(),
  call_id: kind.optional(),
  name: name.optional(),
});

/**
 * `input`: a string, or items each checked on its own, so a 400 names the field that is wrong
 * (`input[3].role`) — a plain union of the two would only say `input`.
 */
const input = z.union([z.string(), z.array(z.unknown()).max(MAX_INPUT_ITEMS)]).superRefine((value, ctx) => {
  if (typeof value === 'string') return;
  for (let i = 0; i < value.length; i++) {
    const checked = inputItem.safeParse(value[i]);
    if (checked.success) continue;
    for (const issue of checked.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [i, ...issue.path], input: value[i] });
    }
    return;
  }
});

const tool = z.looseObject({ type: kind, name: name.optional() });

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: kind, name: name.optional() }),
]);

const textFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name,
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullable().optional(),
  }),
]);

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= METADATA_PAIRS, `at most ${METADATA_PAIRS} pairs`);

export const responsesRequestSchema = z.looseObject({
  model: name,
  input: input.optional(),
  instructions: z.string().nullable().optional(),
  tools: z.array(tool).max(MAX_TOOLS).optional(),
  tool_choice: toolChoice.optional(),
  text: z.looseObject({ format: textFormat.optional(), verbosity: kind.nullable().optional() }).optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  metadata: metadata.nullable().optional(),
  user: z.string().max(MAX_NAME_LENGTH).optional(),
  stream: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  background: z.boolean().nullable().optional(),
  previous_response_id: name.nullable().optional(),
  reasoning: z
    .looseObject({ effort: kind.nullable().optional(), summary: kind.nullable().optional() })
    .nullable()
    .optional(),
  include: z.array(kind).max(64).nullable().optional(),
});
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
