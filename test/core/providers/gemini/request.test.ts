import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../../functions/core/providers/gemini/adapter.ts';
import { FOREIGN_SIGNATURE, imageMimeOf } from '../../../../functions/core/providers/gemini/request.ts';
import { toolCallId } from '../../../../functions/core/providers/gemini/response.ts';
import { type CallInput, UnsupportedFieldError } from '../../../../functions/core/providers/types.ts';
import { unsupportedFieldError } from '../unsupported.ts';

type Json = Record<string, unknown>;

function call(body: Json, over: Partial<CallInput> = {}) {
  return geminiAdapter.buildCall({
    op: 'chat',
    body,
    model: 'gemini-2.5-flash',
    apiKey: 'AIza-test',
    requestId: 'req-1',
    extraHeaders: undefined,
    ...over,
  });
}
const sent = (body: Json, over: Partial<CallInput> = {}): Json => JSON.parse(call(body, over).body ?? '{}');
const partsAt = (body: Json, i: number): Json[] => ((body.contents as Json[])[i]?.parts ?? []) as Json[];
const user = (content: unknown) => ({ role: 'user', content });
const rejected = (body: Json, over: Partial<CallInput> = {}) => unsupportedFieldError(() => call(body, over));

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, additionalProperties: false },
  },
};
const TOOL_TURN = [
  user('weather in Paris?'),
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      {
        id: 'call_a',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
      },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21}' },
  { role: 'tool', tool_call_id: 'call_b', content: 'noon' },
];

describe('geminiAdapter.buildCall (chat)', () => {
  it('posts generateContent for the target model with the key, the request id and extra headers', () => {
    const c = call({ messages: [user('hi')] }, { extraHeaders: { 'x-extra': '1' } });
    expect(c.method).toBe('POST');
    expect(c.path).toBe('/models/gemini-2.5-flash:generateContent');
    expect(c.headers).toMatchObject({
      'x-goog-api-key': 'AIza-test',
      'x-request-id': 'req-1',
      'x-extra': '1',
    });
    expect(c.headers.authorization).toBeUndefined();
  });

  it('streams through streamGenerateContent with alt=sse and puts no stream flag in the body', () => {
    const c = call({ messages: [user('hi')], stream: true, stream_options: { include_usage: true } });
    expect(c.path).toBe('/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(JSON.parse(c.body ?? '{}')).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    expect(c.warnings).toEqual([]);
  });

  it('keeps models/ and tunedModels/ names as they are', () => {
    expect(call({ messages: [user('hi')] }, { model: 'models/gemini-2.5-pro' }).path).toBe(
      '/models/gemini-2.5-pro:generateContent',
    );
    expect(call({ messages: [user('hi')] }, { model: 'tunedModels/my-tune' }).path).toBe(
      '/tunedModels/my-tune:generateContent',
    );
  });

  it('turns system and developer messages into the system instruction, assistant turns into model turns', () => {
    const body = sent({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: [{ type: 'text', text: 'use French' }] },
        user('hello'),
        { role: 'assistant', content: 'bonjour' },
        user('again'),
      ],
    });
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'be brief' }, { text: 'use French' }] });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'hello' }] },
      { role: 'model', parts: [{ text: 'bonjour' }] },
      { role: 'user', parts: [{ text: 'again' }] },
    ]);
  });

  it('sends data-URL images inline and http images as file URIs with a MIME type from the extension', () => {
    const body = sent({
      messages: [
        user([
          { type: 'text', text: 'compare' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.webp?size=large' } },
          { type: 'image_url', image_url: { url: 'https://example.com/photo' } },
        ]),
      ],
    });
    expect(body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: 'compare' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp?size=large' } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photo' } },
        ],
      },
    ]);
    expect(imageMimeOf('https://x/y.JPG#frag')).toBe('image/jpeg');
    expect(imageMimeOf('https://x/y.gif')).toBe('image/gif');
    expect(imageMimeOf('https://x/y.constructor')).toBe('image/jpeg');
  });

  it('rejects a content part it cannot send, naming it', () => {
    const err = rejected({ messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] });
    expect(err.param).toBe('messages[0].content[0]');
  });

  it('turns tool calls into functionCall parts and tool results into one user turn of functionResponses', () => {
    const body = sent({ messages: TOOL_TURN });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'weather in Paris?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { location: 'Paris' } } },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { content: { temp: 21 } } } },
          { functionResponse: { name: 'get_time', response: { content: 'noon' } } },
        ],
      },
    ]);
  });

  it('rejects a tool result that answers no earlier tool call', () => {
    const err = rejected({ messages: [user('x'), { role: 'tool', tool_call_id: 'call_zzz', content: 'r' }] });
    expect(err.param).toBe('messages[1].tool_call_id');
  });

  it('gives a replayed call back the thought signature its id carries', () => {
    const id = toolCallId(undefined, 'req-0', 0, 'c2lnbmF0dXJl+/8=');
    const fn = { name: 'get_weather', arguments: '{"location":"Paris"}' };
    const assistant = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id, type: 'function', function: fn }],
    };
    const body = sent({
      messages: [user('x'), assistant, { role: 'tool', tool_call_id: id, content: 'ok' }],
    });
    expect(partsAt(body, 1)[0]).toEqual({
      functionCall: { name: 'get_weather', args: { location: 'Paris' } },
      thoughtSignature: 'c2lnbmF0dXJl+/8=',
    });
    expect(partsAt(body, 2)[0]).toMatchObject({
      functionResponse: { name: 'get_weather' },
    });
  });

  it('signs unsigned calls with the documented placeholder for Gemini 3, and not for Gemini 2.x', () => {
    const g3 = sent({ messages: TOOL_TURN }, { model: 'gemini-3-pro-preview' });
    const parts = partsAt(g3, 1);
    expect(parts[0]?.thoughtSignature).toBe(FOREIGN_SIGNATURE);
    expect(parts[1]?.thoughtSignature).toBeUndefined();
    const g2 = sent({ messages: TOOL_TURN }, { model: 'gemini-2.5-flash' });
    expect(JSON.stringify(g2)).not.toContain('thoughtSignature');
  });
});

describe('the Gemini chat field table', () => {
  it('maps the sampling fields into generationConfig', () => {
    const body = sent({
      messages: [user('hi')],
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 100,
      stop: 'END',
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      seed: 7,
      n: 1,
    });
    expect(body.generationConfig).toEqual({
      temperature: 0.5,
      topP: 0.9,
      maxOutputTokens: 100,
      stopSequences: ['END'],
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      seed: 7,
    });
  });

  it('prefers max_completion_tokens over max_tokens', () => {
    const body = sent({ messages: [user('hi')], max_tokens: 10, max_completion_tokens: 20 });
    expect(body.generationConfig).toEqual({ maxOutputTokens: 20 });
  });

  it('rejects n > 1 (one choice per answer), logprobs and audio output, naming the field', () => {
    expect(rejected({ messages: [user('hi')], n: 2 }).param).toBe('n');
    expect(rejected({ messages: [user('hi')], logprobs: true }).param).toBe('logprobs');
    expect(rejected({ messages: [user('hi')], modalities: ['text', 'audio'] }).param).toBe('modalities');
    expect(call({ messages: [user('hi')], logprobs: false }).warnings).toEqual([]);
  });

  it('drops logit_bias and user with a warning, parallel_tool_calls true silently', () => {
    const c = call({ messages: [user('hi')], logit_bias: { '1': 2 }, user: 'u1', parallel_tool_calls: true });
    expect(c.warnings).toEqual([
      'logit_bias dropped: gemini has no equivalent',
      'user dropped: gemini has no equivalent',
    ]);
    expect(call({ messages: [user('hi')], parallel_tool_calls: false }).warnings).toEqual([
      'parallel_tool_calls false dropped: gemini cannot forbid parallel calls',
    ]);
    expect(call({ messages: [user('hi')], something_new: 1 }).warnings).toEqual([
      'something_new dropped: not a field the gemini adapter knows',
    ]);
  });

  it('names unknown fields in the log line cut short, at most ten, and a built-in name like any other', () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x${i}${'y'.repeat(5000)}`, 1]));
    const w = call({ messages: [user('hi')], ...many }).warnings ?? [];
    expect(w).toHaveLength(11);
    expect(w[0]).toBe(`x0${'y'.repeat(62)}… dropped: not a field the gemini adapter knows`);
    expect(w[10]).toBe('190 more unknown fields dropped');
    expect(call({ messages: [user('hi')], constructor: 1 }).warnings).toEqual([
      'constructor dropped: not a field the gemini adapter knows',
    ]);
  });

  it('declares tools with their JSON Schema as parametersJsonSchema', () => {
    const body = sent({ messages: [user('hi')], tools: [WEATHER] });
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather of a city',
            parametersJsonSchema: WEATHER.function.parameters,
          },
        ],
      },
    ]);
    expect(rejected({ messages: [user('hi')], tools: [{ type: 'web_search' }] }).param).toBe('tools[0]');
  });

  it.each([
    ['auto', { functionCallingConfig: { mode: 'AUTO' } }],
    ['none', { functionCallingConfig: { mode: 'NONE' } }],
    ['required', { functionCallingConfig: { mode: 'ANY' } }],
    [
      { type: 'function', function: { name: 'get_weather' } },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    ],
  ])('maps tool_choice %j to toolConfig', (choice, toolConfig) => {
    expect(sent({ messages: [user('hi')], tools: [WEATHER], tool_choice: choice }).toolConfig).toEqual(
      toolConfig,
    );
  });

  it('asks for JSON with responseMimeType, and for a schema with responseJsonSchema', () => {
    expect(
      sent({ messages: [user('hi')], response_format: { type: 'json_object' } }).generationConfig,
    ).toEqual({
      responseMimeType: 'application/json',
    });
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const body = sent({
      messages: [user('hi')],
      temperature: 0,
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema, strict: true } },
    });
    expect(body.generationConfig).toEqual({
      temperature: 0,
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
    expect(
      sent({ messages: [user('hi')], response_format: { type: 'text' } }).generationConfig,
    ).toBeUndefined();
  });
});

describe('geminiAdapter.buildCall (embeddings and models)', () => {
  const embed = (body: Json) => call(body, { op: 'embeddings', model: 'gemini-embedding-001' });

  it('posts batchEmbedContents with one request per input, dimensions as outputDimensionality', () => {
    const c = embed({ input: ['a', 'b'], dimensions: 256, encoding_format: 'base64' });
    expect(c.path).toBe('/models/gemini-embedding-001:batchEmbedContents');
    expect(JSON.parse(c.body ?? '{}')).toEqual({
      requests: ['a', 'b'].map((text) => ({
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text }] },
        outputDimensionality: 256,
      })),
    });
    expect(JSON.parse(embed({ input: 'one' }).body ?? '{}').requests).toHaveLength(1);
  });

  it('rejects token-id input', () => {
    expect(() => embed({ input: [1, 2, 3] })).toThrow(UnsupportedFieldError);
    expect(() => embed({ input: [[1, 2]] })).toThrow(/Token-id 'input'/);
  });

  it('does not list models', () => {
    expect(() => call({}, { op: 'models' })).toThrow(UnsupportedFieldError);
  });
});
