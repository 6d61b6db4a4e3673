/**
 * Function tools and structured output through `/v1/responses` with the official openai SDK: a function call
 * answer (a `function_call` item with call_id, name and arguments), then the `function_call_output` sent back
 * either with the whole conversation as items or with `previous_response_id` — on a native provider and
 * translated (chat-only relay, Anthropic, Gemini); `text.format` json_schema and json_object, which a chat
 * target gets as `response_format`.
 */
import type OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { upstreamBody } from '../support/gateway-harness.ts';
import { bodyOf, type ResponsesRig, ROUTES, startResponsesRig } from '../support/responses-rig.ts';

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig();
});
afterAll(async () => rig.close());
beforeEach(() => rig.reset());

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather at a place',
  parameters: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
    additionalProperties: false,
  },
  strict: true,
};

type Target = 'native' | 'relay' | 'claude' | 'gemini';

/** The last request the target's upstream got, as JSON. */
const lastBody = (target: Target): Record<string, unknown> => {
  const fake = rig[target];
  return bodyOf(fake, fake.requests.length - 1);
};

/** The tool result as the target's upstream got it in the second request (its own wire format). */
function toolResultSent(target: Target, callId: string): unknown {
  const body = lastBody(target);
  switch (target) {
    case 'native':
      return (body.input as { type?: string; call_id?: string; output?: unknown }[]).find(
        (i) => i.type === 'function_call_output' && i.call_id === callId,
      )?.output;
    case 'relay':
      return (body.messages as { role: string; tool_call_id?: string; content?: unknown }[]).find(
        (m) => m.role === 'tool' && m.tool_call_id === callId,
      )?.content;
    case 'claude': {
      const blocks = (body.messages as { content: unknown }[]).flatMap((m) =>
        Array.isArray(m.content)
          ? (m.content as { type: string; tool_use_id?: string; content?: unknown }[])
          : [],
      );
      return JSON.stringify(
        blocks.find((b) => b.type === 'tool_result' && b.tool_use_id === callId)?.content,
      );
    }
    case 'gemini':
      return JSON.stringify(body.contents);
  }
}

describe.each(['native', 'relay', 'claude', 'gemini'] as const)(
  'function tools on the %s route',
  (target) => {
    const model = ROUTES[target];

    async function call(): Promise<{
      first: OpenAI.Responses.Response;
      fc: OpenAI.Responses.ResponseFunctionToolCall;
    }> {
      const first = await rig.h.client.responses.create({
        model,
        input: 'weather in Paris?',
        tools: [WEATHER],
      });
      const fc = first.output.find((i) => i.type === 'function_call');
      if (fc?.type !== 'function_call')
        throw new Error(`no function_call in ${JSON.stringify(first.output)}`);
      return { first, fc };
    }

    it('answers a function_call item with call_id, name and arguments', async () => {
      const { first, fc } = await call();
      expect(first.status).toBe('completed');
      expect(fc.name).toBe('get_weather');
      expect(JSON.parse(fc.arguments)).toEqual({ location: 'Paris' });
      expect(fc.call_id.length).toBeGreaterThan(0);
      expect(first.output_text).toBe('');
    });

    it('continues with the whole conversation as items, function_call_output last', async () => {
      const { fc } = await call();
      const second = await rig.h.client.responses.create({
        model,
        tools: [WEATHER],
        input: [
          { role: 'user', content: 'weather in Paris?' },
          { type: 'function_call', call_id: fc.call_id, name: fc.name, arguments: fc.arguments },
          { type: 'function_call_output', call_id: fc.call_id, output: 'sunny, 21 C' },
        ],
      });
      expect(second.output_text).toBe('tool said: sunny, 21 C');
      expect(String(toolResultSent(target, fc.call_id))).toContain('sunny, 21 C');
    });

    it('continues with previous_response_id and only the function_call_output', async () => {
      const { first, fc } = await call();
      const second = await rig.h.client.responses.create({
        model,
        tools: [WEATHER],
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'rainy' }],
      });
      expect(second.output_text).toBe('tool said: rainy');
      expect(second.previous_response_id).toBe(first.id);
      const body = lastBody(target);
      if (target === 'native') {
        // The provider that answered keeps the conversation: the request goes as the client sent it.
        expect(body.previous_response_id).toBe(first.id);
        expect(body.input).toEqual([{ type: 'function_call_output', call_id: fc.call_id, output: 'rainy' }]);
      } else {
        expect(String(toolResultSent(target, fc.call_id))).toContain('rainy');
        expect(JSON.stringify(body)).toContain('weather in Paris?');
      }
    });
  },
);

describe('a streamed function call, translated', () => {
  it('gives the function_call item in response.completed, its arguments as deltas', async () => {
    const stream = await rig.h.client.responses.create({
      model: ROUTES.relay,
      input: 'weather?',
      tools: [WEATHER],
      tool_choice: { type: 'function', name: 'get_weather' },
      stream: true,
    });
    let args = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      if (e.type === 'response.function_call_arguments.delta') args += e.delta;
      if (e.type === 'response.completed') final = e.response;
    }
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(final?.output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        name: 'get_weather',
        arguments: args,
        status: 'completed',
      }),
    ]);
    // The relay got the tool and the choice in chat's nested shape.
    const chat = upstreamBody(rig.relay);
    expect(chat.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'The weather at a place',
          parameters: WEATHER.parameters,
          strict: true,
        },
      },
    ]);
    expect(chat.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
  });
});

describe('a streamed function call answered on another provider', () => {
  it('is accumulated by responses.stream(), then its output goes to Gemini with previous_response_id', async () => {
    const stream = rig.h.client.responses.stream({
      model: ROUTES.claude,
      input: 'weather?',
      tools: [WEATHER],
    });
    const final = await stream.finalResponse();
    const fc = final.output.find((i) => i.type === 'function_call');
    if (fc?.type !== 'function_call') throw new Error('no function_call');
    expect(JSON.parse(fc.arguments)).toEqual({ location: 'Paris' });
    expect(fc.call_id).toMatch(/^toolu_/);

    const second = await rig.h.client.responses.create({
      model: ROUTES.gemini,
      tools: [WEATHER],
      previous_response_id: final.id,
      input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'foggy' }],
    });
    expect(second.output_text).toBe('tool said: foggy');
    const contents = bodyOf(rig.gemini).contents as { role: string; parts: Record<string, unknown>[] }[];
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(contents[1]?.parts[0]?.functionCall).toMatchObject({
      name: 'get_weather',
      args: { location: 'Paris' },
    });
    expect(contents[2]?.parts[0]?.functionResponse).toMatchObject({ name: 'get_weather' });
  });

  it('sends the sampling fields and parallel_tool_calls to a chat target', async () => {
    await rig.h.client.responses.create({
      model: ROUTES.relay,
      input: 'x',
      tools: [WEATHER],
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.5,
      max_output_tokens: 77,
    });
    expect(upstreamBody(rig.relay)).toMatchObject({
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.5,
      max_tokens: 77,
    });
  });
});

const Answer = z.object({ answer: z.string() });

describe('text.format', () => {
  it('json_schema: a chat target gets response_format json_schema; responses.parse reads the answer', async () => {
    const parsed = await rig.h.client.responses.parse({
      model: ROUTES.relay,
      input: 'structured please',
      text: { format: zodTextFormat(Answer, 'answer') },
    });
    expect(parsed.output_parsed).toEqual({ answer: 'echo: structured please' });
    expect(parsed.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
    const rf = upstreamBody(rig.relay).response_format as {
      type: string;
      json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
    };
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema.name).toBe('answer');
    expect(rf.json_schema.strict).toBe(true);
    expect(rf.json_schema.schema).toMatchObject({
      type: 'object',
      properties: { answer: { type: 'string' } },
    });
  });

  it('json_object: a chat target gets response_format json_object', async () => {
    const data = await rig.h.client.responses.create({
      model: ROUTES.relay,
      input: 'answer in JSON',
      text: { format: { type: 'json_object' } },
    });
    expect(JSON.parse(data.output_text)).toEqual({ answer: 'echo: answer in JSON' });
    expect(upstreamBody(rig.relay).response_format).toEqual({ type: 'json_object' });
  });

  it.each(['claude', 'gemini'] as const)('json_schema is honoured on the %s route', async (target) => {
    const parsed = await rig.h.client.responses.parse({
      model: ROUTES[target],
      input: 'structured please',
      text: { format: zodTextFormat(Answer, 'answer') },
    });
    expect(parsed.output_parsed).toEqual({ answer: 'echo: structured please' });
  });

  it('json_schema goes to a native provider as sent', async () => {
    const parsed = await rig.h.client.responses.parse({
      model: ROUTES.native,
      input: 'structured please',
      text: { format: zodTextFormat(Answer, 'answer') },
    });
    expect(parsed.output_parsed).toEqual({ answer: 'echo: structured please' });
    expect(upstreamBody(rig.native).text).toMatchObject({
      format: { type: 'json_schema', name: 'answer', strict: true },
    });
  });
});
