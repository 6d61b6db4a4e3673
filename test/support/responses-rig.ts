/**
 * The gateway and four upstreams for the `/v1/responses` end-to-end suites: an OpenAI fake that serves
 * `/v1/responses` itself (native), an OpenAI-compatible relay that serves chat only, Anthropic and Gemini
 * (translated through chat). Each upstream has a route of its own, and routes that fall from one to another.
 */
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type FakeAnthropic, startAnthropicFake } from './fake-anthropic.ts';
import { type FakeGemini, startGeminiFake } from './fake-gemini.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';
import { type ConfigInput, type Harness, route, startHarness } from './gateway-harness.ts';

/** Route names, by the upstream that serves them. */
export const ROUTES = {
  native: 'gpt-native',
  relay: 'gpt-relay',
  claude: 'claude',
  gemini: 'gemini',
} as const;

export interface ResponsesRig {
  readonly h: Harness<never>;
  /** Serves `/v1/responses` itself. */
  readonly native: FakeOpenAI;
  /** Chat and embeddings only (`endpoints: [chat, embeddings]`). */
  readonly relay: FakeOpenAI;
  readonly claude: FakeAnthropic;
  readonly gemini: FakeGemini;
  /** Stores a client key (optionally with a monthly budget) in the gateway's keys table; returns its secret. */
  clientKey(name: string, budgetUsd?: number): Promise<{ key: string; id: string }>;
  reset(): void;
  close(): Promise<void>;
}

export async function startResponsesRig(
  more: { routes?: ConfigInput['routes']; prices?: ConfigInput['prices'] } = {},
): Promise<ResponsesRig> {
  const [native, relay, claude, gemini] = await Promise.all([
    startFakeOpenAI(),
    startFakeOpenAI({ responses: false }),
    startAnthropicFake(),
    startGeminiFake(),
  ]);
  const h = await startHarness({
    config: () => ({
      providers: {
        native: { type: 'openai', baseUrls: [native.url] },
        relay: { type: 'openai', baseUrls: [relay.url], endpoints: ['chat', 'embeddings'] },
        claude: { type: 'anthropic', baseUrls: [claude.url] },
        gemini: { type: 'gemini', baseUrls: [gemini.url] },
      },
      routes: {
        [ROUTES.native]: route([{ provider: 'native', model: 'gpt-4o' }]),
        [ROUTES.relay]: route([{ provider: 'relay', model: 'openai/gpt-4o' }]),
        [ROUTES.claude]: route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
        [ROUTES.gemini]: route([{ provider: 'gemini', model: 'gemini-2.5-flash' }]),
        ...more.routes,
      },
      ...(more.prices === undefined ? {} : { prices: more.prices }),
    }),
    providerKeys: { native: 'sk-native-1', relay: 'sk-relay-1', claude: 'ak-1', gemini: 'gk-1' },
  });
  return {
    h,
    native,
    relay,
    claude,
    gemini,
    async clientKey(name, budgetUsd) {
      const k = newClientKey(budgetUsd === undefined ? { name } : { name, budgetUsd, period: 'month' });
      await new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE)).put(k.record);
      return { key: k.key, id: k.record.id };
    },
    reset() {
      h.reset();
      native.reset();
      relay.reset();
      claude.reset();
      gemini.reset();
    },
    async close() {
      await h.close();
      await Promise.all([native.close(), relay.close(), claude.close(), gemini.close()]);
    },
  };
}

/** The JSON body of a fake's `i`-th recorded request (any fake: its bodies are parsed JSON). */
export function bodyOf(fake: { requests: readonly { body: unknown }[] }, i = 0): Record<string, unknown> {
  const body = fake.requests[i]?.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`upstream request #${i} has no JSON object body`);
  }
  return body as Record<string, unknown>;
}
