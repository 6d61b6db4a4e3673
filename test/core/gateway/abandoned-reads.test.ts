/**
 * Reads and asks that the request's own signal abandons end as the request's status — 504 at the deadline, 499
 * when the client left — never as a 500 internal error; and what a client can make the gateway read or log is
 * bounded. (Found by review: each case answered 500, an estimate, or an unbounded list before.)
 */
import { describe, expect, it } from 'vitest';
import { MasterKeyStore } from '../../../functions/core/auth.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { bedrockMessagesBody, MAX_BETA_FLAGS } from '../../../functions/core/endpoints/messages/bedrock.ts';
import { createGateway } from '../../../functions/core/gateway/gateway.ts';
import type { HttpClient } from '../../../functions/core/providers/types.ts';
import { NO_SECRETS } from '../../../functions/core/secrets.ts';
import { MemoryResponseStore } from '../../../functions/core/stores/memory-response-store.ts';
import { abortableSleep, systemClock } from '../../../functions/core/system.ts';
import { InMemoryMetrics } from '../../../functions/local/observability.ts';

const MASTER = 'sk-sy-master-review-0123456789abcdef';

/** An upstream that never answers; it rejects when the attempt's signal aborts (as undici does). */
function hangingUpstream(onSend: () => void): HttpClient {
  return {
    send(req) {
      onSend();
      return new Promise((_, reject) => {
        const s = (req as { signal?: AbortSignal }).signal;
        s?.addEventListener('abort', () => reject(s.reason), { once: true });
      });
    },
  };
}

function gatewayWith(http: HttpClient, statuses: number[]) {
  return createGateway({
    routes: {
      load: async () =>
        parseConfig({
          providers: { anth: { type: 'anthropic', baseUrls: ['http://anth.invalid/v1'] } },
          routes: { claude: { targets: [{ provider: 'anth', model: 'claude-x' }] } },
        }),
    },
    keys: new MasterKeyStore(MASTER),
    providerKeys: { keys: async () => ['sk-ant-review'] },
    secrets: NO_SECRETS,
    http,
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    logger: {
      log: (_l, _m, f) => {
        if (typeof f.status === 'number' && 'latencyMs' in f) statuses.push(f.status);
      },
    },
    metrics: new InMemoryMetrics(),
    responses: { store: new MemoryResponseStore(systemClock), ttlDays: 1 },
  });
}

const headers = {
  'x-api-key': MASTER,
  'content-type': 'application/json',
  'anthropic-version': '2023-06-01',
};

describe('a request the client left, and bounded inputs', () => {
  it('count_tokens: a client that leaves during the native ask ends as 499, not an estimate', async () => {
    const statuses: number[] = [];
    const client = new AbortController();
    const gw = gatewayWith(
      hangingUpstream(() => setTimeout(() => client.abort(), 5)),
      statuses,
    );
    const r = await gw.handle({
      method: 'POST',
      path: '/v1/messages/count_tokens',
      headers,
      body: Buffer.from(JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })),
      signal: client.signal, // the hosts abort it with no reason (node-host.ts:108, gateway-handler.ts:165)
    });
    expect(r.status).toBe(499);
    expect(statuses).toEqual([499]);
  });

  it('GET /v1/responses/{id}: a client that already left is not a 500 internal error', async () => {
    const statuses: number[] = [];
    const gw = gatewayWith(
      hangingUpstream(() => undefined),
      statuses,
    );
    const client = new AbortController();
    client.abort();
    const r = await gw.handle({
      method: 'GET',
      path: '/v1/responses/resp_0123456789abcdef0123456789abcdef',
      headers: { authorization: `Bearer ${MASTER}` },
      body: new Uint8Array(),
      signal: client.signal,
    });
    expect(r.status).toBe(499);
    expect(statuses).toEqual([499]);
  });

  it('Bedrock: the client flags dropped (each named in the log line) are bounded', () => {
    const flags = Array.from({ length: 50_000 }, (_, i) => `f${i}`);
    const { dropped } = bedrockMessagesBody({
      model: 'm',
      max_tokens: 1,
      messages: [],
      anthropic_beta: flags,
    });
    expect(dropped).toHaveLength(MAX_BETA_FLAGS);
  });
});

describe('a stored conversation read while the call is made', () => {
  it('ends at the deadline as 504, not 500, when the store read rejects as the AWS SDK does', async () => {
    const chat = Buffer.from(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
    );
    const http: HttpClient = {
      async send() {
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: (async function* () {
            yield chat;
          })(),
          dispose() {},
        };
      },
    };
    const inner = new MemoryResponseStore(systemClock);
    let slowId: string | undefined;
    const store: typeof inner = Object.assign(Object.create(inner), {
      get: (id: string, opts?: { signal?: AbortSignal }) => {
        if (id !== slowId) return inner.get(id, opts as never);
        // DynamoDB under an aborted abortSignal: the SDK rejects with its own Error named AbortError.
        return new Promise((_, reject) =>
          opts?.signal?.addEventListener('abort', () => {
            const e = new Error('Request aborted');
            e.name = 'AbortError';
            reject(e);
          }),
        );
      },
    });
    const statuses: number[] = [];
    const gw = createGateway({
      routes: {
        load: async () =>
          parseConfig({
            providers: {
              relay: { type: 'openai', baseUrls: ['http://relay.invalid/v1'], endpoints: ['chat'] },
            },
            routes: {
              gpt: {
                targets: [{ provider: 'relay', model: 'm' }],
                timeouts: { firstByteMs: 200, idleMs: 200, totalMs: 300 },
              },
            },
          }),
      },
      keys: new MasterKeyStore(MASTER),
      providerKeys: { keys: async () => ['sk-relay'] },
      secrets: NO_SECRETS,
      http,
      clock: systemClock,
      sleep: abortableSleep,
      random: Math.random,
      logger: {
        log: (_l, _m, f) => {
          if (typeof f.status === 'number' && 'latencyMs' in f) statuses.push(f.status);
        },
      },
      metrics: new InMemoryMetrics(),
      responses: { store, ttlDays: 1 },
    });
    const post = (body: object) =>
      gw.handle({
        method: 'POST',
        path: '/v1/responses',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
        signal: new AbortController().signal,
      });
    const idOf = (r: { body: unknown }) =>
      JSON.parse(Buffer.from(r.body as Uint8Array).toString()).id as string;
    const r1 = await post({ model: 'gpt', input: 'one' });
    expect(r1.status).toBe(200);
    const r2 = await post({ model: 'gpt', input: 'two', previous_response_id: idOf(r1) });
    expect(r2.status).toBe(200);
    slowId = idOf(r1);
    const r3 = await post({ model: 'gpt', input: 'three', previous_response_id: idOf(r2) });
    expect(statuses.at(-1)).toBe(504);
    expect(r3.status).toBe(504);
  });
});
