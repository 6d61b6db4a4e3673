/**
 * The official `@anthropic-ai/sdk` as an end-to-end client of the local gateway: a client that sends its key
 * the way a given real client does, the SDK error a failing call throws (checked to be in Anthropic's shape
 * with `request-id` = `x-request-id`), and client keys stored in the gateway's key table.
 */
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { type ClientKeyOptions, newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import type { RunningGateway } from '../../functions/local/server.ts';
import { type FakeAnthropic, startAnthropicFake } from './fake-anthropic.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';
import { type ConfigInput, type Harness, startHarness } from './gateway-harness.ts';

/** How the key goes: `x-api-key` (Claude Code with an API key) or `Authorization: Bearer` (an auth token). */
export type ClientAuth = { readonly xApiKey: string } | { readonly bearer: string };

type Fetch = NonNullable<ConstructorParameters<typeof Anthropic>[0]>['fetch'];

/**
 * An SDK client with its key in exactly one header. The SDK itself (1.x) sends even `apiKey` as a bearer
 * token, so `x-api-key` is set as a default header with both of the SDK's own auth options off.
 */
export function anthropicWith(origin: string, auth: ClientAuth, fetch?: Fetch): Anthropic {
  return new Anthropic({
    baseURL: origin,
    maxRetries: 0,
    apiKey: null,
    authToken: 'bearer' in auth ? auth.bearer : null,
    ...('xApiKey' in auth ? { defaultHeaders: { 'x-api-key': auth.xApiKey } } : {}),
    ...(fetch === undefined ? {} : { fetch }),
  });
}

export type SdkError = InstanceType<typeof Anthropic.APIError>;

/**
 * The SDK error of a call that must fail, after checking what every gateway error on these paths carries:
 * Anthropic's body `{"type":"error","error":{"type","message"}}` and `request-id` equal to `x-request-id`.
 */
export async function sdkFailure(call: Promise<unknown>): Promise<SdkError> {
  const err = await call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Anthropic.APIError);
  const e = err as SdkError;
  expect(e.error).toMatchObject({ type: 'error', error: { type: e.type, message: expect.any(String) } });
  expect(e.apiMessage?.length).toBeGreaterThan(0);
  const id = e.headers?.get('x-request-id');
  expect(id).toMatch(/.+/);
  expect(e.requestID).toBe(id);
  return e;
}

/** A new client key with these limits, stored in the gateway's key table; returns the key itself. */
export async function putClientKey(
  gateway: RunningGateway,
  opts: Omit<ClientKeyOptions, 'name'>,
): Promise<string> {
  const k = newClientKey({ name: 'anthropic-sdk-e2e', ...opts });
  await new DynamoKeyRepo(connectStore(gateway.storeSocket), localTableName(KEYS_TABLE)).put(k.record);
  return k.key;
}

/** The gateway in front of an Anthropic fake (provider `claude`) and an OpenAI chat relay (provider `relay`). */
export interface ClaudeRig {
  readonly claude: FakeAnthropic;
  readonly relay: FakeOpenAI;
  readonly h: Harness<never>;
}

/**
 * Starts the rig the Messages suites share: both fakes, and the gateway with `routes` over them (provider keys
 * `ak-<tag>` and `rk-<tag>`; the Anthropic fake accepts only its own).
 */
export async function startClaudeRig(
  tag: string,
  opts: { routes: ConfigInput['routes']; prices?: ConfigInput['prices']; maxBodyBytes?: number },
): Promise<ClaudeRig> {
  const claude = await startAnthropicFake({ apiKey: `ak-${tag}` });
  const relay = await startFakeOpenAI();
  const h = await startHarness({
    config: () => ({
      providers: {
        claude: { type: 'anthropic', baseUrls: [claude.url] },
        relay: { type: 'openai', baseUrls: [relay.url] },
      },
      routes: opts.routes,
      ...(opts.prices === undefined ? {} : { prices: opts.prices }),
    }),
    providerKeys: { claude: `ak-${tag}`, relay: `rk-${tag}` },
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
  });
  return { claude, relay, h };
}
