/**
 * Request bodies of the OpenAI API, checked once at the edge. Objects are loose: fields the gateway does not
 * know go upstream untouched; the fields it does know must have the right types.
 */
import * as z from 'zod';
import { InvalidRequestError } from '../errors.ts';
import { MAX_NAME_LENGTH } from './names.ts';

export { MAX_NAME_LENGTH };

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * A name: 1–256 characters, none a control character (a terminal escape in an operator's `usage` table). Every
 * endpoint's schema bounds the names it takes from outside with it.
 */
export const name = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .refine((s) => !CONTROL.test(s), 'control characters are not allowed');

const contentPart = z.looseObject({ type: z.string().max(MAX_NAME_LENGTH) });
const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const tool = z.looseObject({
  type: z.string().max(MAX_NAME_LENGTH),
  function: z.looseObject({ name, parameters: z.record(z.string(), z.unknown()).optional() }).optional(),
});

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name,
      schema: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
]);

const positiveInt = z.number().int().positive();

export const chatRequestSchema = z.looseObject({
  model: name,
  messages: z.array(message).min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .optional(),
  max_tokens: positiveInt.nullable().optional(),
  max_completion_tokens: positiveInt.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  tools: z.array(tool).optional(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })])
    .optional(),
  response_format: responseFormat.optional(),
  user: z.string().optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const embeddingsRequestSchema = z.looseObject({
  model: name,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: positiveInt.optional(),
  user: z.string().optional(),
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** `messages.0.role` → `messages[0].role`, as OpenAI names params. */
function paramName(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/** Parses a body or throws a 400 naming the first bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: 'Request body must be a JSON object.',
    });
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue === undefined ? null : paramName(issue.path);
  const message =
    issue === undefined
      ? 'Invalid request body.'
      : issue.code === 'invalid_type' && issue.message.includes('undefined')
        ? `Missing required parameter: '${param}'.`
        : `Invalid value for '${param}': ${issue.message}`;
  throw new InvalidRequestError({ code: 'invalid_request', message, param });
}
