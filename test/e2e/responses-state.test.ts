/**
 * Stored responses with the official openai SDK: `previous_response_id` across providers (native →
 * translated → native, one translated type to another), the earlier turns reaching each target in its own
 * wire format, `GET`/`DELETE /v1/responses/{id}`, `store: false`, another key, and a response past its TTL.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RESPONSES_TTL_DAYS } from '../../functions/core/stores/response-store.ts';
import { raw } from '../support/gateway-harness.ts';
import { bodyOf, type ResponsesRig, ROUTES, startResponsesRig } from '../support/responses-rig.ts';

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig();
});
afterAll(async () => rig.close());
beforeEach(() => rig.reset());
afterEach(() => {
  vi.useRealTimers();
});

const create = (body: OpenAI.Responses.ResponseCreateParamsNonStreaming) =>
  rig.h.client.responses.create(body);

/** The streamed Response of a request, as its response.completed event carries it. */
async function streamed(body: OpenAI.Responses.ResponseCreateParamsNonStreaming) {
  const stream = await rig.h.client.responses.create({ ...body, stream: true });
  let final: OpenAI.Responses.Response | undefined;
  for await (const e of stream) if (e.type === 'response.completed') final = e.response;
  if (final === undefined) throw new Error('the stream ended without response.completed');
  return final;
}

/** Roles and texts of Anthropic's messages, as the fake got them. */
function claudeTurns(i = 0): string[] {
  const messages = bodyOf(rig.claude, i).messages as { role: string; content: unknown }[];
  return messages.map((m) => `${m.role}: ${JSON.stringify(m.content)}`);
}

/** Roles and texts of Gemini's contents, as the fake got them. */
function geminiTurns(i = 0): string[] {
  const contents = bodyOf(rig.gemini, i).contents as { role: string; parts: { text?: string }[] }[];
  return contents.map((c) => `${c.role}: ${c.parts.map((p) => p.text ?? '').join('')}`);
}

describe('previous_response_id across providers', () => {
  it('goes native → Anthropic → native, each target getting the earlier turns', async () => {
    const first = await create({ model: ROUTES.native, input: 'my name is Ada' });
    expect(first.id).toMatch(/^resp_/);
    const second = await create({
      model: ROUTES.claude,
      input: 'what is my name?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('echo: what is my name?');
    expect(claudeTurns()).toEqual([
      expect.stringMatching(/^user: .*my name is Ada/),
      expect.stringMatching(/^assistant: .*echo: my name is Ada/),
      expect.stringMatching(/^user: .*what is my name\?/),
    ]);

    const third = await create({
      model: ROUTES.native,
      input: 'and again?',
      previous_response_id: second.id,
    });
    expect(third.output_text).toBe('echo: and again?');
    const sent = bodyOf(rig.native, 1);
    // Not the provider that answered `second`: the earlier turns go as items, without the id it cannot know.
    expect(sent.previous_response_id).toBeUndefined();
    const input = JSON.stringify(sent.input);
    for (const turn of [
      'my name is Ada',
      'echo: my name is Ada',
      'what is my name?',
      'echo: what is my name?',
    ]) {
      expect(input).toContain(turn);
    }
    expect(input).not.toContain(`"id":`);
  });

  it('goes from the chat-only relay to Gemini to Anthropic, streamed and not', async () => {
    const first = await create({ model: ROUTES.relay, input: 'one' });
    const second = await streamed({ model: ROUTES.gemini, input: 'two', previous_response_id: first.id });
    expect(second.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(second.previous_response_id).toBe(first.id);
    expect(geminiTurns()).toEqual(['user: one', 'model: echo: one', 'user: two']);

    const third = await create({ model: ROUTES.claude, input: 'three', previous_response_id: second.id });
    expect(third.output_text).toBe('echo: three');
    expect(claudeTurns()).toHaveLength(5);
    expect(claudeTurns()[3]).toContain('echo: two');
  });

  it('continues a streamed native response on translated targets (the relayed stream is what is stored)', async () => {
    const first = await streamed({ model: ROUTES.native, input: 'streamed native turn' });
    const second = await create({ model: ROUTES.relay, input: 'next', previous_response_id: first.id });
    expect(second.output_text).toBe('echo: next');
    const messages = bodyOf(rig.relay).messages as { role: string; content: unknown }[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(messages[1])).toContain('echo: streamed native turn');
    expect((await rig.h.client.responses.retrieve(first.id)).output).toEqual(first.output);
  });

  it('keeps the instructions of the request only (as OpenAI does), not those of earlier turns', async () => {
    const first = await create({ model: ROUTES.relay, input: 'hi', instructions: 'Speak French.' });
    await create({
      model: ROUTES.relay,
      input: 'again',
      instructions: 'Speak German.',
      previous_response_id: first.id,
    });
    const messages = bodyOf(rig.relay, 1).messages as { role: string; content: string }[];
    expect(messages[0]).toEqual({ role: 'system', content: 'Speak German.' });
    expect(JSON.stringify(messages)).not.toContain('French');
  });
});

describe('item_reference to an item of a translated answer', () => {
  it('is resolved from the store for the key that made it, on any target', async () => {
    const first = await create({ model: ROUTES.gemini, input: 'my name is Ada' });
    const item = first.output[0];
    if (item?.type !== 'message') throw new Error('no message item');
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'my name is Ada' },
      { type: 'item_reference', id: item.id },
      { role: 'user', content: 'my name?' },
    ];
    const second = await create({ model: ROUTES.claude, input });
    expect(second.output_text).toBe('echo: my name?');
    expect(claudeTurns()).toEqual([
      expect.stringMatching(/^user: .*my name is Ada/),
      expect.stringMatching(/^assistant: .*echo: my name is Ada/),
      expect.stringMatching(/^user: .*my name\?/),
    ]);
    // Another key's reference is not resolved: refused, naming the item, as a missing one is.
    const other = rig.h.clientWithKey((await rig.clientKey('ref-other')).key);
    await expect(other.responses.create({ model: ROUTES.claude, input })).rejects.toMatchObject({
      status: 400,
      code: 'unsupported_parameter',
      param: 'input[1].id',
    });
    expect(rig.claude.requests).toHaveLength(1);
  });
});

describe('GET and DELETE /v1/responses/{id}', () => {
  it('reads a stored streamed response as it was returned', async () => {
    const final = await streamed({ model: ROUTES.claude, input: 'keep me' });
    const got = await rig.h.client.responses.retrieve(final.id);
    expect(got.id).toBe(final.id);
    expect(got.status).toBe('completed');
    expect(got.output).toEqual(final.output);
    expect(got.output_text).toBe('echo: keep me');
    expect(got.usage).toEqual(final.usage);
  });

  it('reads and deletes a natively served response (the gateway’s copy)', async () => {
    const first = await create({ model: ROUTES.native, input: 'native keep' });
    const got = await rig.h.client.responses.retrieve(first.id);
    expect(got.output_text).toBe('echo: native keep');
    const del = await raw(rig.h.origin, `/v1/responses/${first.id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(JSON.parse(del.text)).toEqual({ id: first.id, object: 'response', deleted: true });
    await expect(rig.h.client.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(rig.h.client.responses.delete(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // Deleted, it cannot be continued either — not even on the provider that served it.
    await expect(
      create({ model: ROUTES.native, input: 'x', previous_response_id: first.id }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'previous_response_not_found',
      param: 'previous_response_id',
    });
    expect(rig.native.requests).toHaveLength(1);
  });
});

describe('store: false', () => {
  it.each(['native', 'claude'] as const)(
    'keeps nothing of a %s answer, which then cannot be continued',
    async (t) => {
      const r = await create({ model: ROUTES[t], input: 'forget me', store: false });
      expect(r.output_text).toBe('echo: forget me');
      // Echoed as sent (the SDK's type leaves the field out).
      expect(r).toMatchObject({ store: false });
      await expect(rig.h.client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(
        create({ model: ROUTES.relay, input: 'x', previous_response_id: r.id }),
      ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
      expect(rig.relay.requests).toHaveLength(0);
    },
  );

  it('is sent on to a native provider (it keeps nothing either)', async () => {
    await create({ model: ROUTES.native, input: 'forget me', store: false });
    expect(bodyOf(rig.native).store).toBe(false);
  });
});

describe('another client key', () => {
  it('can neither read nor continue a translated response, streamed or not, and no upstream is called', async () => {
    const mine = await create({ model: ROUTES.gemini, input: 'secret' });
    const other = rig.h.clientWithKey((await rig.clientKey('other-app')).key);
    await expect(other.responses.retrieve(mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(
      other.responses.create({ model: ROUTES.claude, input: 'x', previous_response_id: mine.id }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
    await expect(
      other.responses.create({
        model: ROUTES.claude,
        input: 'x',
        previous_response_id: mine.id,
        stream: true,
      }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
    expect(rig.claude.requests).toHaveLength(0);
    // Still there for its own key.
    expect((await rig.h.client.responses.retrieve(mine.id)).output_text).toBe('echo: secret');
  });
});

describe('a stored response past its TTL', () => {
  it('cannot be read nor continued once the TTL has passed', async () => {
    const r = await create({ model: ROUTES.relay, input: 'short-lived' });
    // A day before the TTL ends it is still there.
    vi.useFakeTimers({ toFake: ['Date'] });
    const day = 86_400_000;
    vi.setSystemTime(Date.now() + (DEFAULT_RESPONSES_TTL_DAYS - 1) * day);
    expect((await rig.h.client.responses.retrieve(r.id)).id).toBe(r.id);
    vi.setSystemTime(Date.now() + 2 * day);
    await expect(rig.h.client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      create({ model: ROUTES.relay, input: 'x', previous_response_id: r.id }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
    expect(rig.relay.requests).toHaveLength(1);
  });
});
