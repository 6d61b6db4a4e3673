/**
 * Request bodies of Anthropic's Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`), checked
 * once at the edge (STYLE.md rule 3): https://docs.anthropic.com/en/api/messages and
 * https://docs.anthropic.com/en/api/messages-count-tokens. Objects are loose — a field or block type the
 * gateway does not know goes to an Anthropic target untouched (Anthropic judges it), and the translation to
 * chat decides what to do with it (to-chat.ts) — but the fields and block types it knows must have the right
 * shape, so a translation never guesses. Everything from outside is bounded: names by {@link name}, lists
 * by the limits below.
 */
import * as z from 'zod';
import { own } from '../../json.ts';
import { MAX_NAME_LENGTH, name } from '../../schemas/openai.ts';

/** Anthropic's documented limit: "There is a limit of 100,000 messages in a single request." */
export const MAX_MESSAGES = 100_000;
/**
 * Tools per request: no documented number, so a bound far above real use (Claude Code with many MCP servers
 * sends a few hundred) that still keeps one request's work bounded.
 */
export const MAX_TOOLS = 4096;
/** Stop sequences per request: undocumented too; bounded for the same reason. */
export const MAX_STOP_SEQUENCES = 1024;

const typeName = z.string().min(1).max(MAX_NAME_LENGTH);

/**
 * An object whose `type` picks its schema: a known type must match its schema (issues keep their paths);
 * an unknown one passes with only its `type` checked, for the target to judge.
 */
function byType(known: Readonly<Record<string, z.ZodType>>) {
  return z.looseObject({ type: typeName }).superRefine((value, ctx) => {
    const schema = own(known, value.type);
    if (schema === undefined) return;
    const result = schema.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
    }
  });
}

const record = z.record(z.string(), z.unknown());
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });

/** https://docs.anthropic.com/en/docs/build-with-claude/vision — base64 bytes, a URL, or a Files API id. */
const imageSource = byType({
  base64: z.looseObject({ media_type: typeName, data: z.string() }),
  url: z.looseObject({ url: z.string().min(1) }),
  file: z.looseObject({ file_id: name }),
});

/** Blocks a tool result may hold (text, images, documents…). */
const resultPart = byType({
  text: textBlock,
  image: z.looseObject({ source: imageSource }),
  document: z.looseObject({ source: z.looseObject({ type: typeName }) }),
});

/** The content block types the translations read; any other type passes as is to an Anthropic target. */
const contentBlock = byType({
  text: textBlock,
  image: z.looseObject({ source: imageSource }),
  document: z.looseObject({ source: z.looseObject({ type: typeName }) }),
  tool_use: z.looseObject({ id: name, name, input: record }),
  tool_result: z.looseObject({
    tool_use_id: name,
    content: z.union([z.string(), z.array(resultPart)]).optional(),
    is_error: z.boolean().optional(),
  }),
  thinking: z.looseObject({ thinking: z.string(), signature: z.string().optional() }),
  redacted_thinking: z.looseObject({ data: z.string() }),
});
export type ContentBlock = z.infer<typeof contentBlock>;

const message = z.looseObject({
  // `system` turns inside `messages` are in the SDK's MessageParam union (SystemMessageParam).
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(contentBlock)]),
});
export type MessageParam = z.infer<typeof message>;

const system = z.union([z.string(), z.array(textBlock)]);

/**
 * A tool: a client tool (`name`, `input_schema`, optional `type: "custom"`) or a server tool (`type` such as
 * `web_search_20250305`, with its own fields).
 */
const tool = z.looseObject({
  name,
  type: typeName.nullable().optional(),
  description: z.string().optional(),
  input_schema: record.optional(),
});

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
/** https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use */
const toolChoice = byType({
  auto: z.looseObject(parallel),
  any: z.looseObject(parallel),
  tool: z.looseObject({ name, ...parallel }),
  none: z.looseObject({}),
});

/** https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking */
const thinking = byType({
  enabled: z.looseObject({ budget_tokens: z.number().int().positive() }),
});

/** Fields both bodies share: what is counted is what would be sent. */
const common = {
  model: name,
  messages: z.array(message).min(1).max(MAX_MESSAGES),
  system: system.optional(),
  tools: z.array(tool).max(MAX_TOOLS).optional(),
  tool_choice: toolChoice.optional(),
  thinking: thinking.optional(),
};

export const messagesRequestSchema = z.looseObject({
  ...common,
  /** 0 is allowed: it only fills the prompt cache (the SDK's documented cache pre-warming). */
  max_tokens: z.number().int().nonnegative(),
  stop_sequences: z.array(z.string()).max(MAX_STOP_SEQUENCES).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().nonnegative().optional(),
  metadata: z.looseObject({ user_id: z.string().max(MAX_NAME_LENGTH).nullable().optional() }).optional(),
  /** Structured outputs: `format` is a JSON schema the answer follows. */
  output_config: z
    .looseObject({
      format: byType({ json_schema: z.looseObject({ schema: record }) })
        .nullable()
        .optional(),
    })
    .optional(),
});
export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

export const countTokensRequestSchema = z.looseObject(common);
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
