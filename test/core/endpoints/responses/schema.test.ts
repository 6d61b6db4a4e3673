import { describe, expect, it } from 'vitest';
import { responsesRequestSchema } from '../../../../functions/core/endpoints/responses/schema.ts';
import { InvalidRequestError } from '../../../../functions/core/errors.ts';
import { parseBody } from '../../../../functions/core/schemas/openai.ts';

const parse = (body: unknown) => parseBody(responsesRequestSchema, body);

/** The 400 a body gets, with the param it names. */
function refusal(body: unknown): InvalidRequestError {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected the body to be refused');
}

describe('responsesRequestSchema', () => {
  it('accepts a string input and keeps fields it does not know', () => {
    const body = parse({ model: 'gpt-4o-mini', input: 'hi', some_new_field: { x: 1 } });
    expect(body.input).toBe('hi');
    expect(body.some_new_field).toEqual({ x: 1 });
  });

  it('accepts the items the SDK sends: messages, function calls and their outputs, references', () => {
    const body = parse({
      model: 'gpt-4o-mini',
      instructions: 'be brief',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'hi' },
            { type: 'input_image', image_url: 'https://x/y.png', detail: 'auto' },
          ],
        },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'hello', annotations: [] }],
        },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'item_reference', id: 'msg_1' },
      ],
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      max_output_tokens: 100,
      temperature: 0.5,
      top_p: 1,
      parallel_tool_calls: false,
      metadata: { team: 'billing' },
      stream: true,
      store: false,
      previous_response_id: 'resp_abc',
    });
    expect(Array.isArray(body.input) ? body.input.length : 0).toBe(5);
  });

  it('refuses a model name that is too long or holds a control character, naming it', () => {
    expect(refusal({ model: 'm'.repeat(257), input: 'hi' }).param).toBe('model');
    expect(refusal({ model: 'gpt\u001b[2J', input: 'hi' }).param).toBe('model');
    expect(refusal({ input: 'hi' }).message).toContain("Missing required parameter: 'model'");
  });

  it('bounds the names and lists that come from outside', () => {
    const tool = (name: string) => ({ type: 'function', name, parameters: {} });
    expect(refusal({ model: 'm', input: 'hi', tools: [tool('x'.repeat(257))] }).param).toBe('tools[0].name');
    expect(
      refusal({ model: 'm', input: 'hi', tools: Array.from({ length: 513 }, () => tool('f')) }).param,
    ).toBe('tools');
    expect(
      refusal({ model: 'm', input: Array.from({ length: 10_001 }, () => ({ role: 'user', content: 'x' })) })
        .param,
    ).toBe('input');
    expect(refusal({ model: 'm', input: 'hi', previous_response_id: 'r'.repeat(257) }).param).toBe(
      'previous_response_id',
    );
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(refusal({ model: 'm', input: 'hi', metadata }).param).toBe('metadata');
    expect(refusal({ model: 'm', input: 'hi', metadata: { k: 'v'.repeat(513) } }).param).toBe('metadata.k');
  });

  it('checks the types of the fields it knows', () => {
    expect(refusal({ model: 'm', input: 42 }).param).toBe('input');
    expect(refusal({ model: 'm', input: 'hi', temperature: 3 }).param).toBe('temperature');
    expect(refusal({ model: 'm', input: 'hi', max_output_tokens: 0 }).param).toBe('max_output_tokens');
    expect(refusal({ model: 'm', input: [{ role: 'robot', content: 'x' }] }).param).toBe('input[0].role');
    expect(
      refusal({ model: 'm', input: 'hi', text: { format: { type: 'json_schema', schema: {} } } }).param,
    ).toBe('text.format.name');
  });
});
